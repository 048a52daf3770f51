// One loop per elementwise op and dtype, instantiated from op_rules.hpp over ScalarMath.
// Rows where every operand is contiguous or broadcast (stride 1 or 0) get a loop specialised
// for that pattern, which g++ vectorises; anything else takes the general strided loop.
#include <array>

#include "kernels.hpp"
#include "nnjit/error.hpp"
#include "nnjit/op_rules.hpp"
#include "nnjit/scalar_math.hpp"
#include "strided_loop.hpp"

namespace nnjit::detail {
namespace {

enum class Access { contiguous, broadcast, strided };

template <class R, class T, class... X> T apply_rule(double alpha, X... x) {
    ScalarMath<T> m;
    if constexpr (rules::takes_alpha<R>) return R::forward(m, x..., alpha);
    else return R::forward(m, x...);
}

template <Access A, class T> T load(const T* p, std::int64_t i, std::int64_t stride) {
    if constexpr (A == Access::contiguous) return p[i];
    else if constexpr (A == Access::broadcast) return p[0];
    else return p[i * stride];
}

// flatten: every call in the loop body is inlined (the rule, vmath's approximation), so that
// g++ vectorises it; its inliner otherwise keeps large rules such as erfc/gelu out of line.
template <class R, class T, Access... A, std::size_t... I>
[[gnu::flatten]]
void row_loop(T* __restrict out, const std::array<const T*, sizeof...(A)>& in, std::int64_t n,
              const std::array<std::int64_t, sizeof...(A) + 1>& strides, double alpha, std::index_sequence<I...>) {
    for (std::int64_t i = 0; i < n; ++i) out[i] = apply_rule<R, T>(alpha, load<A>(in[I], i, strides[I + 1])...);
}

// Picks the specialised loop for the row's access pattern, one operand at a time.
template <class R, class T, std::size_t Arity, Access... Chosen>
void dispatch_row(T* out, const std::array<const T*, Arity>& in, std::int64_t n,
                  const std::array<std::int64_t, Arity + 1>& strides, double alpha) {
    constexpr std::size_t k = sizeof...(Chosen);
    if constexpr (k == Arity) {
        row_loop<R, T, Chosen...>(out, in, n, strides, alpha, std::make_index_sequence<Arity>{});
    } else {
        const std::int64_t s = strides[k + 1];
        if (s == 1) dispatch_row<R, T, Arity, Chosen..., Access::contiguous>(out, in, n, strides, alpha);
        else if (s == 0) dispatch_row<R, T, Arity, Chosen..., Access::broadcast>(out, in, n, strides, alpha);
        else {
            [&]<std::size_t... I>(std::index_sequence<I...>) {
                row_loop<R, T, ((void)I, Access::strided)...>(out, in, n, strides, alpha,
                                                               std::make_index_sequence<Arity>{});
            }(std::make_index_sequence<Arity>{});
        }
    }
}

template <class R, class T, std::size_t Arity>
void run(const Node& node, std::span<const Tensor> inputs, Tensor& out) {
    std::array<std::vector<std::int64_t>, Arity + 1> strides;
    strides[0] = out.strides();
    std::array<const T*, Arity> base;
    for (std::size_t k = 0; k < Arity; ++k) {
        if (inputs[k].shape() != node.shape())
            throw InternalError(fmt::format("{}: operand {} has shape {}, expected {}", op_name(node.op()), k,
                                            inputs[k].shape(), node.shape()));
        strides[k + 1] = inputs[k].strides();
        base[k] = inputs[k].data<T>();
    }
    T* out_base = out.data<T>();
    const double alpha = node.attrs().alpha;
    for_each_row<Arity + 1>(node.shape(), strides, [&](const auto& offsets, std::int64_t n, const auto& inner) {
        std::array<const T*, Arity> in;
        for (std::size_t k = 0; k < Arity; ++k) in[k] = base[k] + offsets[k + 1];
        dispatch_row<R, T, Arity>(out_base + offsets[0], in, n, inner, alpha);
    });
}

}  // namespace

void elementwise_kernel(const Node& node, std::span<const Tensor> inputs, Tensor& out) {
    const bool f64 = node.dtype() == DType::f64;
    switch (node.op()) {
#define NNJIT_ELEMENTWISE(Name, name, arity)                                                                   \
    case Op::Name:                                                                                             \
        return f64 ? run<rules::Name, double, arity>(node, inputs, out)                                     \
                   : run<rules::Name, float, arity>(node, inputs, out);
#include "nnjit/ops.def"
    default: throw InternalError(fmt::format("{} is not an elementwise op", op_name(node.op())));
    }
}

}  // namespace nnjit::detail
