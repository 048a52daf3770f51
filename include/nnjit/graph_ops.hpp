// The checking factories that build graph nodes: one C++ function per op of the table.
// Elementwise ops broadcast as NumPy does (a broadcast_to node is inserted, read in place by
// every engine) and promote float32 with float64 to float64. A mismatch throws UserError
// naming the op and both shapes. Scalars (double) take the dtype of the tensor they meet.
#pragma once

#include <vector>

#include "nnjit/graph.hpp"

namespace nnjit {

// Elementwise, any arity. Low level: used by the functions below and by the parser.
Value elementwise(Op op, std::span<const Value> inputs, double alpha = 0);

Value neg(Value x);
Value exp(Value x);
Value log(Value x);
Value sqrt(Value x);
Value abs(Value x);
Value relu(Value x);
Value leaky_relu(Value x, double alpha = 0.01);
Value prelu(Value x, Value a);
Value sigmoid(Value x);
Value tanh(Value x);
Value elu(Value x, double alpha = 1.0);
Value silu(Value x);
Value gelu(Value x);
Value softplus(Value x);
Value erfc(Value x);
Value expm1(Value x);  // exp(x) - 1, accurate near 0
Value log1p(Value x);  // log(1 + x), accurate near 0

Value add(Value a, Value b);
Value sub(Value a, Value b);
Value mul(Value a, Value b);
Value div(Value a, Value b);
Value maximum(Value a, Value b);
Value minimum(Value a, Value b);
Value greater(Value a, Value b);  // 1 where a > b, else 0
Value equal(Value a, Value b);    // 1 where a == b, else 0
Value where(Value cond, Value a, Value b);
// x limited to [lo, hi] (lo <= hi, either may be infinite): lo below, hi above, x between, NaN
// stays NaN. Its gradient is 1 on [lo, hi], ends included, and 0 outside, as PyTorch's clamp
// (at a NaN it passes the gradient on, where PyTorch gives 0). Made of where and greater.
Value clamp(Value x, double lo, double hi);
void check_clamp_bounds(double lo, double hi);  // the UserError of clamp's bounds, for the expression DSL's

Value operator+(Value a, Value b);
Value operator-(Value a, Value b);
Value operator*(Value a, Value b);
Value operator/(Value a, Value b);
Value operator-(Value x);
Value operator+(Value a, double b);
Value operator-(Value a, double b);
Value operator*(Value a, double b);
Value operator/(Value a, double b);
Value operator+(double a, Value b);
Value operator-(double a, Value b);
Value operator*(double a, Value b);
Value operator/(double a, Value b);

Value cast(Value x, DType dtype);
Value broadcast_to(Value x, const Shape& shape);
Value reshape(Value x, const Shape& shape);
Value transpose(Value x);  // reverses the axes
Value transpose(Value x, std::vector<std::int64_t> perm);
Value matmul(Value a, Value b);  // 2-D
// beta * c + s * (a @ b), what BLAS's gemm computes in one call: a (m, k), b (k, n), c (m, n),
// s a scalar (shape ()) read at run time, beta a constant. fold_products() makes these.
Value matmul_acc(Value a, Value b, Value c, Value s, double beta = 1.0);

// Reductions; negative axes count from the end. Without axes: over everything.
Value sum(Value x, bool keepdims = false);
Value sum(Value x, std::int64_t axis, bool keepdims = false);
Value sum(Value x, std::vector<std::int64_t> axes, bool keepdims = false);
Value mean(Value x, bool keepdims = false);
Value mean(Value x, std::int64_t axis, bool keepdims = false);
Value mean(Value x, std::vector<std::int64_t> axes, bool keepdims = false);
// The largest / smallest element (NaN if any is NaN; max takes +0 over -0, min -0 over +0, so
// the result does not depend on the order of the elements). Their gradient goes to the
// elements equal to the result, split evenly among ties. An axis of size 0 is an error.
Value max(Value x, bool keepdims = false);
Value max(Value x, std::int64_t axis, bool keepdims = false);
Value max(Value x, std::vector<std::int64_t> axes, bool keepdims = false);
Value min(Value x, bool keepdims = false);
Value min(Value x, std::int64_t axis, bool keepdims = false);
Value min(Value x, std::vector<std::int64_t> axes, bool keepdims = false);
// An int literal axis (`sum(x, 1)`) would otherwise be ambiguous between bool and int64.
inline Value sum(Value x, int axis, bool keepdims = false) { return sum(x, std::int64_t{axis}, keepdims); }
inline Value mean(Value x, int axis, bool keepdims = false) { return mean(x, std::int64_t{axis}, keepdims); }
inline Value max(Value x, int axis, bool keepdims = false) { return max(x, std::int64_t{axis}, keepdims); }
inline Value min(Value x, int axis, bool keepdims = false) { return min(x, std::int64_t{axis}, keepdims); }
// Sums the dimensions that were broadcast to reach x's shape, giving `shape` (for gradients).
Value sum_to(Value x, const Shape& shape);

Value softmax(Value x, std::int64_t axis = -1);
Value log_softmax(Value x, std::int64_t axis = -1);

// Losses (composites of the ops above), each a scalar.
Value mse(Value y, Value target);                  // mean((y - target)^2)
Value cross_entropy(Value logits, Value target);   // mean over rows of -sum(target * log_softmax(logits))

}  // namespace nnjit
