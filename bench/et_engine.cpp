// The `et` engine: each workload written in the compile-time expression DSL and run by eval()
// as one C++ loop per output. Its backward comes from d(f, x): gx = gy * d(f, x) is a second
// loop that recomputes what it needs from x (eval_into writes one output per loop), so a
// forward+backward reads x twice: 20 bytes per element where a fused kernel moves 16.
//
// Vectorisation, checked with -fopt-info-vec and in the assembly (g++ 12.2, the flags of
// nnjit_options, -O3): every loop here runs on 64-byte zmm vectors except tanh_fwd_bwd's gx
// loop, gy * (1 - tanh(x)^2): with tanh twice in one loop body (tanh(x) * tanh(x) alone does
// the same) g++ gives up ("not vectorized: no vectype for stmt" on the load of x) and the
// loop is scalar. One tanh per loop vectorises.
#include "native_engine.hpp"

#include "hand_kernels.hpp"
#include "nnjit/expr/expr.hpp"

namespace nnjit::bench {
namespace {

constexpr auto x = input<"x", float, Dims<Dynamic>>;
constexpr auto gy = input<"gy", float, Dims<Dynamic>>;

// The forward expression f(x) of a workload, as a value; its type is the graph.
template <class F> Prepare forward_only(F f) {
    return [f](Buffers& b) -> Run {
        return [f, bindings = Bindings{{"x", b.x}}, y = b.y]() mutable { eval_into(f, bindings, y); };
    };
}

template <class F> Prepare forward_backward(F f) {
    return [f](Buffers& b) -> Run {
        const auto df = gy * d(f, x);
        return [f, df, bindings = Bindings{{"x", b.x}, {"gy", b.gy}}, y = b.y, gx = b.gx]() mutable {
            eval_into(f, bindings, y);
            eval_into(df, bindings, gx);
        };
    };
}

}  // namespace

NativeEngine et_engine() {
    const auto chain = sigmoid(kChainA * x + kChainB) * relu(x);
    return {"et",
            {
                {"relu_fwd", forward_only(relu(x))},
                {"relu_fwd_bwd", forward_backward(relu(x))},
                {"sigmoid_fwd", forward_only(sigmoid(x))},
                {"sigmoid_fwd_bwd", forward_backward(sigmoid(x))},
                {"tanh_fwd", forward_only(tanh(x))},
                {"tanh_fwd_bwd", forward_backward(tanh(x))},
                {"leaky_relu_fwd_bwd", forward_backward(leaky_relu(x, kLeakyAlpha))},
                {"chain_fwd", forward_only(chain)},
                {"chain_fwd_bwd", forward_backward(chain)},
            }};
}

}  // namespace nnjit::bench
