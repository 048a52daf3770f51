// sum and mean over any set of axes. Accumulates in double whatever the dtype, so that the
// interpreter stays a trustworthy oracle for long float32 sums.
#include <vector>

#include "kernels.hpp"
#include "strided_loop.hpp"

namespace nnjit::detail {
namespace {

template <class T> void reduce(const Node& node, const Tensor& input, Tensor& out) {
    const Shape& in_shape = input.shape();
    // The accumulator has the input's rank with reduced dimensions of size 1; its strides
    // are 0 along reduced axes, so every input element lands on its output element.
    std::vector<std::int64_t> kept(static_cast<std::size_t>(in_shape.rank()));
    for (int i = 0; i < in_shape.rank(); ++i) kept[static_cast<std::size_t>(i)] = in_shape[i];
    for (auto a : node.attrs().axes) kept[static_cast<std::size_t>(a)] = 1;
    const Shape acc_shape(kept);
    auto acc_strides = contiguous_strides(acc_shape);
    for (auto a : node.attrs().axes) acc_strides[static_cast<std::size_t>(a)] = 0;

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

}  // namespace

void reduction_kernel(const Node& node, const Tensor& input, Tensor& out) {
    if (node.dtype() == DType::f64) reduce<double>(node, input, out);
    else reduce<float>(node, input, out);
}

}  // namespace nnjit::detail
