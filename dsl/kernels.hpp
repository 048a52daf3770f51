// The interpreter's ahead-of-time kernels, one family per file. Each takes the node and its
// input tensors (any layout) and returns a fresh result.
#pragma once

#include <span>

#include "nnjit/graph.hpp"
#include "nnjit/tensor.hpp"

namespace nnjit::detail {

Tensor elementwise_kernel(const Node& node, std::span<const Tensor> inputs);
Tensor reduction_kernel(const Node& node, const Tensor& input);
Tensor matmul_kernel(const Tensor& a, const Tensor& b);
Tensor softmax_kernel(const Node& node, const Tensor& input);

}  // namespace nnjit::detail
