#include "nnjit/nn/activation.hpp"

#include <array>
#include <cmath>
#include <utility>

#include "nnjit/error.hpp"
#include "nnjit/graph_ops.hpp"

namespace nnjit::nn {
namespace {

struct Named {
    std::string_view name;
    ActivationKind kind;
};
constexpr std::array kNames{
    Named{"identity", ActivationKind::identity}, Named{"relu", ActivationKind::relu},
    Named{"leaky_relu", ActivationKind::leaky_relu}, Named{"prelu", ActivationKind::prelu},
    Named{"sigmoid", ActivationKind::sigmoid}, Named{"tanh", ActivationKind::tanh},
    Named{"elu", ActivationKind::elu}, Named{"gelu", ActivationKind::gelu},
    Named{"silu", ActivationKind::silu}, Named{"softplus", ActivationKind::softplus},
};

}  // namespace

Activation::Activation(ActivationKind kind, double alpha) : kind_(kind), alpha_(alpha) {
    if (kind == ActivationKind::custom)
        throw UserError("Activation: a custom activation is made by Activation::custom(name, function, init)");
    if (alpha_ == 0 && kind == ActivationKind::leaky_relu) alpha_ = 0.01;
    if (alpha_ == 0 && kind == ActivationKind::elu) alpha_ = 1.0;
}

Activation Activation::custom(std::string name, std::function<Value(Value)> function, Init init) {
    if (!function) throw UserError(fmt::format("Activation::custom '{}': the function is empty", name));
    Activation a;
    a.kind_ = ActivationKind::custom;
    a.custom_name_ = std::move(name);
    a.custom_ = std::move(function);
    a.custom_init_ = init;
    return a;
}

Activation Activation::parse(std::string_view name) {
    for (const Named& n : kNames)
        if (n.name == name) return Activation(n.kind);
    std::vector<std::string_view> names;
    for (const Named& n : kNames) names.push_back(n.name);
    throw UserError(fmt::format("unknown activation '{}' (known: {})", name, fmt::join(names, ", ")));
}

std::string_view Activation::name() const {
    if (kind_ == ActivationKind::custom) return custom_name_;
    for (const Named& n : kNames)
        if (n.kind == kind_) return n.name;
    throw InternalError("an activation kind without a name");
}

Init Activation::init() const {
    switch (kind_) {
    case ActivationKind::identity:
    case ActivationKind::sigmoid:
    case ActivationKind::tanh: return Init::glorot_uniform;
    case ActivationKind::custom: return custom_init_;
    default: return Init::he_normal;  // the ReLU family and its smooth cousins
    }
}

double Activation::gain() const {
    switch (kind_) {
    case ActivationKind::leaky_relu: return std::sqrt(2.0 / (1.0 + alpha_ * alpha_));
    case ActivationKind::prelu: return std::sqrt(2.0 / (1.0 + kPreluInitialSlope * kPreluInitialSlope));
    default: return init() == Init::he_normal ? std::sqrt(2.0) : 1.0;
    }
}

Value Activation::operator()(Value x, Value slope) const {
    switch (kind_) {
    case ActivationKind::identity: return x;
    case ActivationKind::relu: return nnjit::relu(x);
    case ActivationKind::leaky_relu: return nnjit::leaky_relu(x, alpha_);
    case ActivationKind::prelu:
        if (!slope) throw UserError("prelu: the activation needs its slope parameter");
        return nnjit::prelu(x, slope);
    case ActivationKind::sigmoid: return nnjit::sigmoid(x);
    case ActivationKind::tanh: return nnjit::tanh(x);
    case ActivationKind::elu: return nnjit::elu(x, alpha_);
    case ActivationKind::gelu: return nnjit::gelu(x);
    case ActivationKind::silu: return nnjit::silu(x);
    case ActivationKind::softplus: return nnjit::softplus(x);
    case ActivationKind::custom: return custom_(x);
    }
    throw InternalError("an activation kind without a rule");
}

}  // namespace nnjit::nn
