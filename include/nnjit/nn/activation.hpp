// Activations as values: one of the op table's elementwise functions (or any function of a
// Value), with the initialisation that suits it. A layer applies its activation by calling it.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "nnjit/graph.hpp"

namespace nnjit::nn {

// How a layer's weights start: He (normal, std = gain / sqrt(fan_in)) keeps the variance of
// ReLU-like activations constant across layers; Glorot (uniform in +-sqrt(6 / (fan_in +
// fan_out))) suits saturating ones (sigmoid, tanh) and linear outputs.
enum class Init { he_normal, glorot_uniform };

enum class ActivationKind { identity, relu, leaky_relu, prelu, sigmoid, tanh, elu, gelu, silu, softplus, custom };

class Activation {
public:
    Activation() = default;  // identity
    Activation(ActivationKind kind, double alpha = 0);  // alpha: leaky_relu slope, elu scale; 0 = default

    static Activation identity() { return {}; }
    static Activation relu() { return {ActivationKind::relu}; }
    static Activation leaky_relu(double slope = 0.01) { return {ActivationKind::leaky_relu, slope}; }
    // A learned slope per unit, starting at 0.25 (as PyTorch's PReLU).
    static Activation prelu() { return {ActivationKind::prelu}; }
    static Activation sigmoid() { return {ActivationKind::sigmoid}; }
    static Activation tanh() { return {ActivationKind::tanh}; }
    static Activation elu(double alpha = 1.0) { return {ActivationKind::elu, alpha}; }
    static Activation gelu() { return {ActivationKind::gelu}; }
    static Activation silu() { return {ActivationKind::silu}; }
    static Activation softplus() { return {ActivationKind::softplus}; }
    // Any function of a Value built from graph ops; `init` says how weights feeding it start.
    static Activation custom(std::string name, std::function<Value(Value)> function, Init init);

    // By name: identity, relu, leaky_relu, prelu, sigmoid, tanh, elu, gelu, silu, softplus.
    // Anything else is a UserError listing the names.
    static Activation parse(std::string_view name);

    ActivationKind kind() const { return kind_; }
    double alpha() const { return alpha_; }
    std::string_view name() const;
    Init init() const;
    // The He gain: sqrt(2 / (1 + slope^2)) for the ReLU family, 1 for Glorot activations.
    double gain() const;
    bool has_parameter() const { return kind_ == ActivationKind::prelu; }
    static constexpr double kPreluInitialSlope = 0.25;

    // Applies the activation; `slope` is the PReLU parameter (ignored by the others).
    Value operator()(Value x, Value slope = {}) const;

private:
    ActivationKind kind_ = ActivationKind::identity;
    double alpha_ = 0;
    std::string custom_name_;
    std::function<Value(Value)> custom_;
    Init custom_init_ = Init::glorot_uniform;
};

}  // namespace nnjit::nn
