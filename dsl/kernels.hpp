// The interpreter's ahead-of-time kernels, one family per file. Each takes the node, its
// input tensors (any layout) and a contiguous output of the node's dtype and shape to fill.
#pragma once

#include <span>

#include "nnjit/graph.hpp"
#include "nnjit/tensor.hpp"

namespace nnjit::detail {

void elementwise_kernel(const Node& node, std::span<const Tensor> inputs, Tensor& out);
void reduction_kernel(const Node& node, const Tensor& input, Tensor& out);
void matmul_kernel(const Tensor& a, const Tensor& b, Tensor& out);
// out = beta * c + s * (a @ b), s a scalar tensor; c may be out itself.
void matmul_acc_kernel(const Tensor& a, const Tensor& b, const Tensor& c, const Tensor& s, double beta, Tensor& out);
void softmax_kernel(const Node& node, const Tensor& input, Tensor& out);

}  // namespace nnjit::detail
