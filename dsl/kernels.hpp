// The interpreter's ahead-of-time kernels, one family per file. Each takes the node, its
// input tensors (any layout) and a contiguous output of the node's dtype and shape to fill.
#pragma once

#include <cmath>
#include <cstdint>
#include <span>

#include "nnjit/graph.hpp"
#include "nnjit/tensor.hpp"

namespace nnjit::detail {

void elementwise_kernel(const Node& node, std::span<const Tensor> inputs, Tensor& out);
void reduction_kernel(const Node& node, const Tensor& input, Tensor& out);
// max and min's rule, free of the order of the elements: does x replace the running extremum a?
// Yes when x is NaN (then a stays NaN: no comparison with it holds), beyond a, or the zero of
// the wanted sign against the other one. Shared with the JIT's executor, which combines the
// partial results of its chunks the same way.
template <class T> bool beats_max(T x, T a) {
    return std::isnan(x) || x > a || (x == a && std::signbit(a) > std::signbit(x));
}
template <class T> bool beats_min(T x, T a) {
    return std::isnan(x) || x < a || (x == a && std::signbit(x) > std::signbit(a));
}
void matmul_kernel(const Tensor& a, const Tensor& b, Tensor& out);
// out = beta * c + s * (a @ b), s a scalar tensor; c may be out itself.
void matmul_acc_kernel(const Tensor& a, const Tensor& b, const Tensor& c, const Tensor& s, double beta, Tensor& out);
void softmax_kernel(const Node& node, const Tensor& input, Tensor& out);

// Small matrix products (small_matmul.cpp), on raw pointers: the JIT's executor calls them
// without making tensors, matmul_kernel routes the same shapes to them, so both engines
// compute small products alike. True for products of at most kSmallMatmulMacs multiply-adds.
bool is_small_matmul(std::int64_t m, std::int64_t n, std::int64_t k);
// c (m, n), row-major and contiguous = op(a) op(b), op a transpose when trans_* is set;
// a and b stored row-major with row strides lda and ldb (as BLAS takes them).
void small_matmul(DType dtype, bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k,
                  const void* a, std::int64_t lda, const void* b, std::int64_t ldb, void* c);

}  // namespace nnjit::detail
