// softmax and log_softmax along one axis, stabilised by subtracting the maximum. NaN
// anywhere along the axis makes that whole slice NaN, as in PyTorch.
#include <cmath>
#include <limits>

#include "kernels.hpp"
#include "nnjit/scalar_math.hpp"

namespace nnjit::detail {
namespace {

template <class T> void normalize(const Node& node, const Tensor& input, Tensor& out) {
    const Tensor x = input.contiguous();
    const Shape& shape = x.shape();
    const int axis = static_cast<int>(node.attrs().axes.at(0));
    std::int64_t outer = 1, inner = 1;
    for (int i = 0; i < axis; ++i) outer *= shape[i];
    for (int i = axis + 1; i < shape.rank(); ++i) inner *= shape[i];
    const std::int64_t len = shape[axis];
    const bool log_form = node.op() == Op::LogSoftmax;
    using M = ScalarMath<T>;

    const T* src = x.data<T>();
    T* dst = out.data<T>();
    for (std::int64_t o = 0; o < outer; ++o) {
        for (std::int64_t i = 0; i < inner; ++i) {
            const T* xs = src + o * len * inner + i;
            T* ys = dst + o * len * inner + i;
            T hi = -std::numeric_limits<T>::infinity();
            bool nan = false;
            for (std::int64_t a = 0; a < len; ++a) {
                nan |= std::isnan(xs[a * inner]);
                hi = std::max(hi, xs[a * inner]);
            }
            if (nan) hi = std::numeric_limits<T>::quiet_NaN();
            if (std::isinf(hi)) hi = 0;  // all -inf (or +inf present): keep inf - inf out of the sum
            T total = 0;
            for (std::int64_t a = 0; a < len; ++a) total += M::exp(xs[a * inner] - hi);
            const T log_total = M::log(total);
            for (std::int64_t a = 0; a < len; ++a) {
                const T shifted = xs[a * inner] - hi;
                ys[a * inner] = log_form ? shifted - log_total : M::exp(shifted) / total;
            }
        }
    }
}

}  // namespace

void softmax_kernel(const Node& node, const Tensor& input, Tensor& out) {
    if (node.dtype() == DType::f64) normalize<double>(node, input, out);
    else normalize<float>(node, input, out);
}

}  // namespace nnjit::detail
