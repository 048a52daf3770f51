// sum, mean, max and min over any set of axes. sum and mean accumulate in double whatever the
// dtype, so that the interpreter stays a trustworthy oracle for long float32 sums; max and min
// are exact in the dtype itself.
#include <array>
#include <limits>
#include <vector>

#include "kernels.hpp"
#include "strided_loop.hpp"

namespace nnjit::detail {
namespace {

// The accumulator has the input's rank with reduced dimensions of size 1; its strides are 0
// along reduced axes, so every input element lands on its output element.
struct Accumulator {
    Shape shape;
    std::vector<std::int64_t> strides;
};

Accumulator accumulator_of(const Node& node, const Shape& in_shape) {
    std::vector<std::int64_t> kept(static_cast<std::size_t>(in_shape.rank()));
    for (int i = 0; i < in_shape.rank(); ++i) kept[static_cast<std::size_t>(i)] = in_shape[i];
    for (auto a : node.attrs().axes) kept[static_cast<std::size_t>(a)] = 1;
    Accumulator acc{Shape(kept), {}};
    acc.strides = contiguous_strides(acc.shape);
    for (auto a : node.attrs().axes) acc.strides[static_cast<std::size_t>(a)] = 0;
    return acc;
}

template <class T> void reduce(const Node& node, const Tensor& input, Tensor& out) {
    const Shape& in_shape = input.shape();
    const auto [acc_shape, acc_strides] = accumulator_of(node, in_shape);
    std::vector<double> acc(static_cast<std::size_t>(acc_shape.numel()), 0.0);
    const T* src = input.data<T>();
    double* dst = acc.data();
    for_each_row<2>(in_shape, {acc_strides, input.strides()}, [&](const auto& off, std::int64_t n, const auto& s) {
        double* a = dst + off[0];
        const T* x = src + off[1];
        if (s[0] == 0) {
            double total = 0;
            for (std::int64_t i = 0; i < n; ++i) total += static_cast<double>(x[i * s[1]]);
            *a += total;
        } else if (s[1] == 1 && s[0] == 1) {
            for (std::int64_t i = 0; i < n; ++i) a[i] += static_cast<double>(x[i]);
        } else {
            for (std::int64_t i = 0; i < n; ++i) a[i * s[0]] += static_cast<double>(x[i * s[1]]);
        }
    });

    const double scale = node.op() == Op::Mean ? static_cast<double>(acc.size()) / static_cast<double>(in_shape.numel())
                                               : 1.0;
    T* o = out.data<T>();
    for (std::size_t i = 0; i < acc.size(); ++i) o[i] = static_cast<T>(acc[i] * scale);
}

template <class T, bool Max> void extreme(const Tensor& input, const Node& node, Tensor& out) {
    const auto [acc_shape, acc_strides] = accumulator_of(node, input.shape());
    constexpr T start = Max ? -std::numeric_limits<T>::infinity() : std::numeric_limits<T>::infinity();
    T* o = out.data<T>();
    std::fill(o, o + acc_shape.numel(), start);
    const T* src = input.data<T>();
    const auto pick = [](T v, T best) { return (Max ? beats_max(v, best) : beats_min(v, best)) ? v : best; };
    for_each_row<2>(input.shape(), {acc_strides, input.strides()}, [&](const auto& off, std::int64_t n, const auto& s) {
        T* a = o + off[0];
        const T* x = src + off[1];
        if (s[0] == 0 && s[1] == 1) {
            // A contiguous row into one value: kLanes running extrema that g++ vectorises (the
            // rule is exact and free of order, so any split of the row gives the same result).
            constexpr std::int64_t kLanes = 16;
            std::array<T, kLanes> lanes;
            lanes.fill(*a);
            std::int64_t i = 0;
            for (; i + kLanes <= n; i += kLanes)
                for (std::int64_t l = 0; l < kLanes; ++l)
                    lanes[static_cast<std::size_t>(l)] = pick(x[i + l], lanes[static_cast<std::size_t>(l)]);
            T best = *a;
            for (T v : lanes) best = pick(v, best);
            for (; i < n; ++i) best = pick(x[i], best);
            *a = best;
        } else if (s[0] == 1 && s[1] == 1) {
            for (std::int64_t i = 0; i < n; ++i) a[i] = pick(x[i], a[i]);
        } else {
            for (std::int64_t i = 0; i < n; ++i) a[i * s[0]] = pick(x[i * s[1]], a[i * s[0]]);
        }
    });
}

template <class T> void reduce_any(const Node& node, const Tensor& input, Tensor& out) {
    if (node.op() == Op::Max) extreme<T, true>(input, node, out);
    else if (node.op() == Op::Min) extreme<T, false>(input, node, out);
    else reduce<T>(node, input, out);
}

}  // namespace

void reduction_kernel(const Node& node, const Tensor& input, Tensor& out) {
    if (node.dtype() == DType::f64) reduce_any<double>(node, input, out);
    else reduce_any<float>(node, input, out);
}

}  // namespace nnjit::detail
