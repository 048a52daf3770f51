// Optimizers as graph builders: each builds, inside the training-step graph, the update of
// one parameter from its gradient and its state ("slots", zero at the start), so that the
// update runs in the same compiled plan as the forward and backward passes. Values that
// change from step to step (learning rate, Adam's bias corrections) are scalar inputs of the
// graph, set before each run: a learning-rate schedule needs no recompilation.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "nnjit/graph.hpp"

namespace nnjit::nn {

// Returns the graph's scalar input of that name (created on first use).
using ScalarInput = std::function<Value(std::string_view name)>;

class Optimizer {
public:
    virtual ~Optimizer() = default;
    virtual std::string_view name() const = 0;
    virtual std::unique_ptr<Optimizer> clone() const = 0;
    // Names of the per-parameter state tensors, each of the parameter's shape.
    virtual std::vector<std::string> slots() const = 0;
    // The scalar inputs' values for step `step` (1 for the first).
    virtual std::vector<std::pair<std::string, double>> scalars(std::int64_t step) const = 0;
    // The updated parameter, then the updated slots (in the order of slots()).
    virtual std::vector<Value> update(Value param, Value grad, std::span<const Value> slots,
                                      const ScalarInput& scalar) const = 0;

    double learning_rate = 1e-3;
};

// Stochastic gradient descent with (heavy-ball, PyTorch-style) momentum:
// v = momentum * v + g;  p = p - lr * v.   With momentum 0 there is no state.
class Sgd final : public Optimizer {
public:
    explicit Sgd(double learning_rate = 0.01, double momentum = 0);
    std::string_view name() const override { return "sgd"; }
    std::unique_ptr<Optimizer> clone() const override { return std::make_unique<Sgd>(*this); }
    std::vector<std::string> slots() const override;
    std::vector<std::pair<std::string, double>> scalars(std::int64_t step) const override;
    std::vector<Value> update(Value param, Value grad, std::span<const Value> slots,
                              const ScalarInput& scalar) const override;

    double momentum = 0;
};

// Adam (Kingma & Ba), with PyTorch's placement of epsilon:
// m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;
// p = p - lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps).
class Adam final : public Optimizer {
public:
    explicit Adam(double learning_rate = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-8);
    std::string_view name() const override { return "adam"; }
    std::unique_ptr<Optimizer> clone() const override { return std::make_unique<Adam>(*this); }
    std::vector<std::string> slots() const override;
    std::vector<std::pair<std::string, double>> scalars(std::int64_t step) const override;
    std::vector<Value> update(Value param, Value grad, std::span<const Value> slots,
                              const ScalarInput& scalar) const override;

    double beta1 = 0.9;
    double beta2 = 0.999;
    double epsilon = 1e-8;
};

}  // namespace nnjit::nn
