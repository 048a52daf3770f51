// softmax and log_softmax along one axis, stabilised by subtracting the maximum. NaN
// anywhere along the axis makes that whole slice NaN, as in PyTorch.
//
// Each pass is a plain loop over contiguous memory, which g++ vectorises (ScalarMath's exp and
// log inline): along the last axis a slice is a row; along another axis the passes run over
// the `inner` slices side by side, each with its own maximum and sum. Sums are kept in
// kLanes running partial sums per row, added in a fixed order: the result does not depend on
// anything but the input. jit/normalize_codegen.cpp does normalize_row's and
// normalize_columns' operations in the same order, so the JIT agrees bit for bit
// (tests/test_jit.cpp): change both together.
#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <vector>

#include "kernels.hpp"
#include "nnjit/scalar_math.hpp"

namespace nnjit::detail {
namespace {

constexpr std::int64_t kLanes = 16;

// The maximum a slice is shifted by. A NaN is passed over here (one plain max per element),
// but it makes its own exp NaN and so the sum and the whole slice. An infinite maximum (all
// -inf, or a +inf present) shifts by 0, which keeps inf - inf out of the sum.
template <class T> T pick_max(T v, T best) { return v > best ? v : best; }
template <class T> T shift_of(T hi) { return std::isinf(hi) ? T(0) : hi; }

// One contiguous row of `len` elements.
template <class T> void normalize_row(const T* x, T* y, std::int64_t len, bool log_form) {
    using M = ScalarMath<T>;
    // The maximum in kLanes running maxima (a row of them, so that g++ vectorises the loop).
    T lanes[kLanes];
    std::fill_n(lanes, kLanes, -std::numeric_limits<T>::infinity());
    std::int64_t i = 0;
    for (; i + kLanes <= len; i += kLanes)
        for (std::int64_t l = 0; l < kLanes; ++l) lanes[l] = pick_max(x[i + l], lanes[l]);
    T hi = -std::numeric_limits<T>::infinity();
    for (T v : lanes) hi = pick_max(v, hi);
    for (; i < len; ++i) hi = pick_max(x[i], hi);
    const T shift = shift_of(hi);

    for (i = 0; i < len; ++i) y[i] = M::exp(x[i] - shift);
    std::array<T, kLanes> sums{};
    for (i = 0; i + kLanes <= len; i += kLanes)
        for (std::int64_t l = 0; l < kLanes; ++l) sums[static_cast<std::size_t>(l)] += y[i + l];
    T total = 0;
    for (T s : sums) total += s;
    for (; i < len; ++i) total += y[i];

    if (log_form) {
        const T log_total = M::log(total);
        for (i = 0; i < len; ++i) y[i] = (x[i] - shift) - log_total;
    } else {
        for (i = 0; i < len; ++i) y[i] = y[i] / total;
    }
}

// `inner` slices side by side: element a of slice j is at a * inner + j.
template <class T> void normalize_columns(const T* x, T* y, std::int64_t len, std::int64_t inner, bool log_form,
                                          std::vector<T>& shift, std::vector<T>& total) {
    using M = ScalarMath<T>;
    const auto n = static_cast<std::size_t>(inner);
    shift.assign(n, -std::numeric_limits<T>::infinity());
    total.assign(n, T(0));
    T* s = shift.data();
    T* t = total.data();
    for (std::int64_t a = 0; a < len; ++a)
        for (std::int64_t j = 0; j < inner; ++j) s[j] = pick_max(x[a * inner + j], s[j]);
    for (std::int64_t j = 0; j < inner; ++j) s[j] = shift_of(s[j]);
    for (std::int64_t a = 0; a < len; ++a)
        for (std::int64_t j = 0; j < inner; ++j) {
            const T e = M::exp(x[a * inner + j] - s[j]);
            y[a * inner + j] = e;
            t[j] += e;
        }
    if (log_form) {
        for (std::int64_t j = 0; j < inner; ++j) t[j] = M::log(t[j]);
        for (std::int64_t a = 0; a < len; ++a)
            for (std::int64_t j = 0; j < inner; ++j) y[a * inner + j] = (x[a * inner + j] - s[j]) - t[j];
    } else {
        for (std::int64_t a = 0; a < len; ++a)
            for (std::int64_t j = 0; j < inner; ++j) y[a * inner + j] = y[a * inner + j] / t[j];
    }
}

template <class T> void normalize(const Node& node, const Tensor& input, Tensor& out) {
    const Tensor x = input.contiguous();
    const Shape& shape = x.shape();
    const int axis = static_cast<int>(node.attrs().axes.at(0));
    std::int64_t outer = 1, inner = 1;
    for (int i = 0; i < axis; ++i) outer *= shape[i];
    for (int i = axis + 1; i < shape.rank(); ++i) inner *= shape[i];
    const std::int64_t len = shape[axis];
    const bool log_form = node.op() == Op::LogSoftmax;

    const T* src = x.data<T>();
    T* dst = out.data<T>();
    std::vector<T> shift, total;
    for (std::int64_t o = 0; o < outer; ++o) {
        const T* xs = src + o * len * inner;
        T* ys = dst + o * len * inner;
        if (inner == 1) normalize_row(xs, ys, len, log_form);
        else normalize_columns(xs, ys, len, inner, log_form, shift, total);
    }
}

}  // namespace

void softmax_kernel(const Node& node, const Tensor& input, Tensor& out) {
    if (node.dtype() == DType::f64) normalize<double>(node, input, out);
    else normalize<float>(node, input, out);
}

}  // namespace nnjit::detail
