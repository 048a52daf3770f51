// Folding matrix products into the sums that read them: a graph-to-graph pass that rewrites
//
//   c + s * (a @ b)   c - s * (a @ b)   c + (a @ b)   c - (a @ b)   k * c + s * (a @ b)
//
// (s a scalar of any kind, k a constant) into one matmul_acc node, which BLAS computes in one
// call (gemm with alpha = +-s and beta = k) accumulating into the output. Otherwise the
// product is written to memory and an elementwise pass reads it back: an SGD update
// `w - lr * (x^T @ dz)` becomes one gemm that starts from w, momentum's `mu * v + x^T @ dz` one
// gemm with beta = mu.
//
// A product is folded only when nothing else reads it (or its scaled value), and only into a
// whole matrix c: a broadcast c (a layer's bias) stays an operand of the elementwise kernels,
// where adding it costs nothing. Rounding: BLAS may form beta * c + alpha * (a @ b) with fused
// multiply-adds, so a folded graph can differ from the original in the last bit of each sum;
// every engine runs the same folded graph, so they agree with each other as before.
#pragma once

#include <span>
#include <vector>

#include "nnjit/graph.hpp"

namespace nnjit {

// The outputs with every foldable sum replaced (new nodes in the same graph; the outputs
// themselves when there is nothing to fold).
std::vector<Value> fold_products(std::span<const Value> outputs);

}  // namespace nnjit
