// A sequential stack of dense layers, and mlp(), the usual way to make one.
#pragma once

#include <cstdint>
#include <vector>

#include "nnjit/nn/dense.hpp"

namespace nnjit::nn {

class Sequential {
public:
    Sequential() = default;
    // Appends a layer; an unnamed layer is called dense<i>. A layer whose input size differs
    // from the previous layer's output, or a repeated name, is a UserError.
    Sequential& add(Dense layer);

    const std::vector<Dense>& layers() const { return layers_; }
    std::int64_t input_size() const;
    std::int64_t output_size() const;
    std::vector<ParameterSpec> parameter_specs() const;
    // Fresh parameters: each layer seeded from `seed` and its position.
    Parameters init(DType dtype, std::uint64_t seed) const;
    // Builds the network on x (batch, input_size); returns the last layer's output.
    Value forward(Value x) const;

private:
    std::vector<Dense> layers_;
};

// sizes = {in, hidden..., out}: `hidden` after every layer but the last, `output` after it.
Sequential mlp(const std::vector<std::int64_t>& sizes, Activation hidden, Activation output = Activation::identity());

}  // namespace nnjit::nn
