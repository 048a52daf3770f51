// Forward math and vector-Jacobian rules of the elementwise ops, written once.
//
// Each rule is generic over a Math `m` whose values may be numbers (the interpreter and the
// compile-time evaluator), graph nodes (autodiff), LLVM values (the JIT) or expression types
// (the compile-time derivative). A Math provides:
//   m.c(double)                          a constant
//   m.add/sub/mul/div(a, b), m.neg(a), m.sqrt(a), m.abs(a)
//   m.exp/expm1/log/log1p/tanh/erfc(a)   transcendentals (numbers: jit/vmath's algorithms)
//   m.gt/lt/eq(a, b)                     ordered comparisons, false when either side is NaN
//   m.is_nan(a), m.mask_or(p, q)         masks
//   m.select(mask, a, b)
// Because every engine runs these same expressions in the same order, the JIT and the
// interpreter agree bit for bit on elementwise float32 graphs.
//
// vjp(m, [alpha,] inputs..., y, gy) returns one gradient per input (NoGrad where the op is not
// differentiable in that input). Kinks follow PyTorch: relu'(0) = 0, leaky_relu'(0) = alpha,
// prelu'(0) = a, abs'(0) = 0, maximum/minimum split the gradient evenly on ties.
#pragma once

#include <numbers>
#include <tuple>

namespace nnjit::rules {

struct NoGrad {};

// Every rule is always_inline, and so is apply: g++'s inliner otherwise keeps a large rule out
// of line in a loop over ScalarMath (gelu, erfc, and gelu's gradient in eval() and d(): a call
// per element), and a loop with a call in it is not vectorised; [[gnu::flatten]] on eval()'s
// loop did not reach them (g++ 12, tried).
#define NNJIT_RULE [[gnu::always_inline]] static

// Applies rule R: a Math that builds graphs makes an R node, any other runs R's forward math.
template <class R, class M, class... X> [[gnu::always_inline]] inline auto apply(M& m, X... x) {
    if constexpr (requires { m.template make<R>(x...); }) return m.template make<R>(x...);
    else return R::forward(m, x...);
}

// ---- unary ----------------------------------------------------------------------------

struct Neg {
    NNJIT_RULE auto forward(auto& m, auto x) { return m.neg(x); }
    NNJIT_RULE auto vjp(auto& m, auto, auto, auto gy) { return std::tuple{m.neg(gy)}; }
};

struct Exp {
    NNJIT_RULE auto forward(auto& m, auto x) { return m.exp(x); }
    NNJIT_RULE auto vjp(auto& m, auto, auto y, auto gy) { return std::tuple{m.mul(gy, y)}; }
};

struct Log {
    NNJIT_RULE auto forward(auto& m, auto x) { return m.log(x); }
    NNJIT_RULE auto vjp(auto& m, auto x, auto, auto gy) { return std::tuple{m.div(gy, x)}; }
};

struct Sqrt {
    NNJIT_RULE auto forward(auto& m, auto x) { return m.sqrt(x); }
    NNJIT_RULE auto vjp(auto& m, auto, auto y, auto gy) { return std::tuple{m.div(m.mul(gy, m.c(0.5)), y)}; }
};

struct Abs {
    NNJIT_RULE auto forward(auto& m, auto x) { return m.abs(x); }
    NNJIT_RULE auto vjp(auto& m, auto x, auto, auto gy) {
        return std::tuple{m.select(m.gt(x, m.c(0)), gy, m.select(m.lt(x, m.c(0)), m.neg(gy), m.c(0)))};
    }
};

struct Relu {
    // x <= 0 picks 0, so relu(-0) = +0 and relu(NaN) = NaN.
    NNJIT_RULE auto forward(auto& m, auto x) {
        return m.select(m.mask_or(m.lt(x, m.c(0)), m.eq(x, m.c(0))), m.c(0), x);
    }
    // Reads the output, not the input: y > 0 exactly when x > 0 (-0 and NaN included), and a
    // network keeps y anyway (the next layer's weight gradient reads it), so the backward pass
    // of a ReLU keeps nothing more of the forward pass: x need not be stored at all.
    NNJIT_RULE auto vjp(auto& m, auto, auto y, auto gy) { return std::tuple{m.select(m.gt(y, m.c(0)), gy, m.c(0))}; }
};

struct LeakyRelu {
    NNJIT_RULE auto forward(auto& m, auto x, double alpha) { return m.select(m.gt(x, m.c(0)), x, m.mul(x, m.c(alpha))); }
    NNJIT_RULE auto vjp(auto& m, double alpha, auto x, auto, auto gy) {
        return std::tuple{m.select(m.gt(x, m.c(0)), gy, m.mul(gy, m.c(alpha)))};
    }
};

struct Sigmoid {
    // Computed on the negative side: e = exp(-|x|) never overflows, so sigmoid(+-1000) is
    // exactly 1 or 0 and its gradient y(1-y) is exactly 0, never 0*inf.
    NNJIT_RULE auto forward(auto& m, auto x) {
        auto e = m.exp(m.neg(m.abs(x)));
        auto d = m.add(m.c(1), e);
        // 1 / d for x > 0, else e / d (e = 1 at +-0): the numerator is picked first, so one
        // division. Picked on x > 0, the comparison the activation diagnostics count (nn/
        // diagnostics.hpp): in one kernel the JIT makes it once.
        return m.div(m.select(m.gt(x, m.c(0)), m.c(1), e), d);
    }
    NNJIT_RULE auto vjp(auto& m, auto, auto y, auto gy) { return std::tuple{m.mul(gy, m.mul(y, m.sub(m.c(1), y)))}; }
};

struct Tanh {
    NNJIT_RULE auto forward(auto& m, auto x) { return m.tanh(x); }
    NNJIT_RULE auto vjp(auto& m, auto, auto y, auto gy) { return std::tuple{m.mul(gy, m.sub(m.c(1), m.mul(y, y)))}; }
};

struct Elu {
    // expm1 keeps elu accurate just below 0, where exp(x) - 1 would cancel.
    NNJIT_RULE auto forward(auto& m, auto x, double alpha) {
        return m.select(m.gt(x, m.c(0)), x, m.mul(m.c(alpha), m.expm1(x)));
    }
    NNJIT_RULE auto vjp(auto& m, double alpha, auto x, auto y, auto gy) {
        return std::tuple{m.select(m.gt(x, m.c(0)), gy, m.mul(gy, m.add(y, m.c(alpha))))};
    }
};

struct Silu {
    NNJIT_RULE auto forward(auto& m, auto x) { return m.mul(x, apply<Sigmoid>(m, x)); }
    // d/dx x*s(x) = s + x*s*(1-s) = s * (1 + x*(1-s))
    NNJIT_RULE auto vjp(auto& m, auto x, auto, auto gy) {
        auto s = apply<Sigmoid>(m, x);
        return std::tuple{m.mul(gy, m.mul(s, m.add(m.c(1), m.mul(x, m.sub(m.c(1), s)))))};
    }
};

// expm1(x) = exp(x) - 1 and log1p(x) = log(1 + x), accurate near 0 where the plain forms
// cancel (vmath.hpp). expm1's derivative exp(x) is y + 1: exactly 0 where y saturates at -1.
struct Expm1 {
    NNJIT_RULE auto forward(auto& m, auto x) { return m.expm1(x); }
    NNJIT_RULE auto vjp(auto& m, auto, auto y, auto gy) { return std::tuple{m.mul(gy, m.add(y, m.c(1)))}; }
};

struct Log1p {
    NNJIT_RULE auto forward(auto& m, auto x) { return m.log1p(x); }
    NNJIT_RULE auto vjp(auto& m, auto x, auto, auto gy) { return std::tuple{m.div(gy, m.add(m.c(1), x))}; }
};

struct Erfc {
    NNJIT_RULE auto forward(auto& m, auto x) { return m.erfc(x); }
    // d/dx erfc(x) = -2/sqrt(pi) * exp(-x^2)
    NNJIT_RULE auto vjp(auto& m, auto x, auto, auto gy) {
        return std::tuple{m.mul(gy, m.mul(m.c(-2.0 * std::numbers::inv_sqrtpi), m.exp(m.neg(m.mul(x, x)))))};
    }
};

struct Gelu {
    // The erf form, written with erfc so that gelu(x) for very negative x keeps its
    // relative accuracy: 0.5 * x * (1 + erf(x/sqrt2)) = 0.5 * x * erfc(-x/sqrt2).
    static constexpr double kInvSqrt2 = 0.70710678118654752440;
    NNJIT_RULE auto forward(auto& m, auto x) {
        return m.mul(m.mul(m.c(0.5), x), apply<Erfc>(m, m.mul(x, m.c(-kInvSqrt2))));
    }
    // d/dx = Phi(x) + x * phi(x), Phi(x) = 0.5 erfc(-x/sqrt2), phi(x) = exp(-x^2/2)/sqrt(2 pi)
    NNJIT_RULE auto vjp(auto& m, auto x, auto, auto gy) {
        auto cdf = m.mul(m.c(0.5), apply<Erfc>(m, m.mul(x, m.c(-kInvSqrt2))));
        auto pdf = m.mul(m.c(0.5 * std::numbers::inv_sqrtpi * std::numbers::sqrt2),
                         m.exp(m.mul(m.c(-0.5), m.mul(x, x))));
        return std::tuple{m.mul(gy, m.add(cdf, m.mul(x, pdf)))};
    }
};

struct Softplus {
    // max(x, 0) + log1p(exp(-|x|)): never overflows, and stays accurate for very negative x.
    NNJIT_RULE auto forward(auto& m, auto x) {
        auto pos = m.select(m.gt(x, m.c(0)), x, m.c(0));
        return m.add(pos, m.log1p(m.exp(m.neg(m.abs(x)))));
    }
    NNJIT_RULE auto vjp(auto& m, auto x, auto, auto gy) { return std::tuple{m.mul(gy, apply<Sigmoid>(m, x))}; }
};

// ---- binary ---------------------------------------------------------------------------

struct Add {
    NNJIT_RULE auto forward(auto& m, auto a, auto b) { return m.add(a, b); }
    NNJIT_RULE auto vjp(auto&, auto, auto, auto, auto gy) { return std::tuple{gy, gy}; }
};

struct Sub {
    NNJIT_RULE auto forward(auto& m, auto a, auto b) { return m.sub(a, b); }
    NNJIT_RULE auto vjp(auto& m, auto, auto, auto, auto gy) { return std::tuple{gy, m.neg(gy)}; }
};

struct Mul {
    NNJIT_RULE auto forward(auto& m, auto a, auto b) { return m.mul(a, b); }
    NNJIT_RULE auto vjp(auto& m, auto a, auto b, auto, auto gy) { return std::tuple{m.mul(gy, b), m.mul(gy, a)}; }
};

struct Div {
    NNJIT_RULE auto forward(auto& m, auto a, auto b) { return m.div(a, b); }
    // d(a/b)/db = -a/b^2 = -y/b
    NNJIT_RULE auto vjp(auto& m, auto, auto b, auto y, auto gy) {
        return std::tuple{m.div(gy, b), m.neg(m.div(m.mul(gy, y), b))};
    }
};

struct Maximum {
    // NaN in either operand gives NaN.
    NNJIT_RULE auto forward(auto& m, auto a, auto b) { return m.select(m.mask_or(m.gt(a, b), m.is_nan(a)), a, b); }
    NNJIT_RULE auto vjp(auto& m, auto a, auto b, auto, auto gy) {
        auto half = m.mul(gy, m.c(0.5));
        auto tie = m.eq(a, b);
        return std::tuple{m.select(m.gt(a, b), gy, m.select(tie, half, m.c(0))),
                          m.select(m.lt(a, b), gy, m.select(tie, half, m.c(0)))};
    }
};

struct Minimum {
    NNJIT_RULE auto forward(auto& m, auto a, auto b) { return m.select(m.mask_or(m.lt(a, b), m.is_nan(a)), a, b); }
    NNJIT_RULE auto vjp(auto& m, auto a, auto b, auto, auto gy) {
        auto half = m.mul(gy, m.c(0.5));
        auto tie = m.eq(a, b);
        return std::tuple{m.select(m.lt(a, b), gy, m.select(tie, half, m.c(0))),
                          m.select(m.gt(a, b), gy, m.select(tie, half, m.c(0)))};
    }
};

struct Prelu {
    // y = x for x > 0, else a*x, with a learned slope `a` broadcast against x.
    NNJIT_RULE auto forward(auto& m, auto x, auto a) { return m.select(m.gt(x, m.c(0)), x, m.mul(a, x)); }
    NNJIT_RULE auto vjp(auto& m, auto x, auto a, auto, auto gy) {
        auto pos = m.gt(x, m.c(0));
        return std::tuple{m.select(pos, gy, m.mul(a, gy)), m.select(pos, m.c(0), m.mul(x, gy))};
    }
};

struct Greater {
    NNJIT_RULE auto forward(auto& m, auto a, auto b) { return m.select(m.gt(a, b), m.c(1), m.c(0)); }
    NNJIT_RULE auto vjp(auto&, auto, auto, auto, auto) { return std::tuple{NoGrad{}, NoGrad{}}; }
};

struct Equal {
    NNJIT_RULE auto forward(auto& m, auto a, auto b) { return m.select(m.eq(a, b), m.c(1), m.c(0)); }
    NNJIT_RULE auto vjp(auto&, auto, auto, auto, auto) { return std::tuple{NoGrad{}, NoGrad{}}; }
};

// ---- ternary --------------------------------------------------------------------------

struct Where {
    // where(cond, a, b): a where cond is non-zero (NaN counts as non-zero), else b.
    NNJIT_RULE auto forward(auto& m, auto cond, auto a, auto b) { return m.select(m.eq(cond, m.c(0)), b, a); }
    NNJIT_RULE auto vjp(auto& m, auto cond, auto, auto, auto, auto gy) {
        auto off = m.eq(cond, m.c(0));
        return std::tuple{NoGrad{}, m.select(off, m.c(0), gy), m.select(off, gy, m.c(0))};
    }
};

// Ops whose forward and vjp take the node's scalar attribute `alpha` as well.
template <class R> constexpr bool takes_alpha = false;
template <> inline constexpr bool takes_alpha<LeakyRelu> = true;
template <> inline constexpr bool takes_alpha<Elu> = true;

}  // namespace nnjit::rules

#undef NNJIT_RULE
