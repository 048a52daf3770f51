// A dense (fully connected) layer: y = act(x @ W + b), with W of shape (in, out) and b of
// shape (out,) as parameters `<name>.weight` and `<name>.bias` (and `<name>.slope`, shape
// (out,), for PReLU). Weights start as the activation asks (He or Glorot), biases at zero.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "nnjit/graph.hpp"
#include "nnjit/nn/activation.hpp"
#include "nnjit/nn/parameters.hpp"

namespace nnjit::nn {

struct Dense {
    std::string name;
    std::int64_t in = 0;
    std::int64_t out = 0;
    Activation activation;

    std::vector<ParameterSpec> parameter_specs() const;
    // Adds this layer's parameters, seeded, to `params`.
    void init(Parameters& params, DType dtype, std::uint64_t seed) const;
    // Builds the layer on x (batch, in): its parameters are graph parameters of x's dtype.
    Value forward(Value x) const { return activate(pre_activation(x)); }
    // The two halves of forward(): z = x @ W + b, then act(z) (what diagnostics look at).
    Value pre_activation(Value x) const;
    Value activate(Value z) const;
};

}  // namespace nnjit::nn
