// Shared by tests/test_vmath.cpp (dense sweep) and tests/long/vmath_exhaustive.cpp (all 2^32
// inputs): the functions under test over ScalarMath<float>, their float64 references, and the
// error measure in float32 ulps.
#pragma once

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numbers>
#include <span>

#include "nnjit/op_rules.hpp"
#include "nnjit/scalar_math.hpp"

namespace nnjit::vmath_test {

using M = ScalarMath<float>;

// Error of y against the exact value ref, in ulps of the float32 format at ref (subnormal ulp
// 2^-149). Where ref rounds to +-inf (overflow), y must be exactly that inf; NaN must match NaN.
inline double ulp_error(float y, double ref) {
    if (std::isnan(ref) || std::isnan(y)) return std::isnan(ref) && std::isnan(y) ? 0.0 : HUGE_VAL;
    const auto rounded = static_cast<float>(ref);
    if (std::isinf(rounded) || std::isinf(y)) return y == rounded ? 0.0 : HUGE_VAL;
    // Float ulp at ref: 2^(e - 23) with e the binary exponent of |ref|, at least 2^-149; from the
    // bits (frexp/ldexp are calls, and the exhaustive sweep does this 2^32 times per function).
    const int e = static_cast<int>(std::bit_cast<std::uint64_t>(std::fabs(ref)) >> 52) - 1023;
    const double ulp = std::bit_cast<double>(static_cast<std::uint64_t>(std::max(e, -126) - 23 + 1023) << 52);
    return std::fabs(static_cast<double>(y) - ref) / ulp;
}

inline double sigmoid_ref(double x) {
    const double e = std::exp(-std::fabs(x));
    return x < 0 ? e / (1 + e) : 1 / (1 + e);
}

// y[i] = F(x[i]) in one loop that g++ vectorises, as the interpreter's loops are.
template <float (*F)(float)> void batch(const float* __restrict x, float* __restrict y, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) y[i] = F(x[i]);
}

inline float vexp(float x) { return M::exp(x); }
inline float vexpm1(float x) { return M::expm1(x); }
inline float vlog(float x) { return M::log(x); }
inline float vlog1p(float x) { return M::log1p(x); }
inline float vtanh(float x) { return M::tanh(x); }
inline float verfc(float x) { return M::erfc(x); }
inline float vgelu(float x) { M m; return rules::Gelu::forward(m, x); }
inline float vsigmoid(float x) { M m; return rules::Sigmoid::forward(m, x); }
inline float vsoftplus(float x) { M m; return rules::Softplus::forward(m, x); }
inline float vsilu(float x) { M m; return rules::Silu::forward(m, x); }
inline float velu(float x) { M m; return rules::Elu::forward(m, x, 1.0); }

struct Function {
    const char* name;
    void (*f)(const float*, float*, std::size_t);
    double (*ref)(double);
    double bound;  // the documented bound in ulps (vmath.hpp), for inputs >= ulp_from
    // Below ulp_from the error is measured in absolute terms (see vmath.hpp for why).
    float ulp_from = -std::numeric_limits<float>::infinity();
    double abs_bound = 0;
};

inline const Function kFunctions[] = {
    {"exp", batch<vexp>, [](double x) { return std::exp(x); }, 4},
    {"expm1", batch<vexpm1>, [](double x) { return std::expm1(x); }, 4},
    {"log", batch<vlog>, [](double x) { return std::log(x); }, 4},
    {"log1p", batch<vlog1p>, [](double x) { return std::log1p(x); }, 4},
    {"tanh", batch<vtanh>, [](double x) { return std::tanh(x); }, 4},
    {"erfc", batch<verfc>, [](double x) { return std::erfc(x); }, 4},
    // gelu rounds its argument x * -1/sqrt2 (and the constant) to float32 before erfc, and erfc
    // turns a relative error d of its argument z into about 2 z^2 d = x^2 d: below x = -1 the
    // bound is in absolute terms (see vmath.hpp).
    {"gelu", batch<vgelu>,
     [](double x) { return 0.5 * x * std::erfc(-x / std::numbers::sqrt2); }, 4, -1.0f, 5e-8},
    {"sigmoid", batch<vsigmoid>, sigmoid_ref, 4},
    {"softplus", batch<vsoftplus>,
     [](double x) { return std::max(x, 0.0) + std::log1p(std::exp(-std::fabs(x))); }, 4},
    // Below ln(FLT_MIN) sigmoid(x) is subnormal, with few significant bits, and x * sigmoid(x)
    // scales that rounding error up by |x| <= 104.
    {"silu", batch<vsilu>, [](double x) { return x * sigmoid_ref(x); }, 4,
     -87.33654f, 0x1p-142},
    {"elu", batch<velu>,
     [](double x) { return x > 0 ? x : std::expm1(x); }, 4},
};

struct SweepResult {
    double max_ulp = 0;  // over inputs >= ulp_from
    float worst_x = 0;
    double max_abs = 0;  // over inputs < ulp_from
    float worst_abs_x = 0;
    std::uint64_t count = 0;

    void merge(const SweepResult& o) {
        if (o.max_ulp > max_ulp || std::isnan(o.max_ulp)) max_ulp = o.max_ulp, worst_x = o.worst_x;
        if (o.max_abs > max_abs || std::isnan(o.max_abs)) max_abs = o.max_abs, worst_abs_x = o.worst_abs_x;
        count += o.count;
    }
};

// Every finite input whose bit pattern is first + k * stride, below `last`.
inline SweepResult sweep(const Function& fn, std::uint64_t first, std::uint64_t last, std::uint64_t stride) {
    constexpr std::size_t kBlock = 4096;
    float xs[kBlock], ys[kBlock];
    SweepResult r;
    for (std::uint64_t bits = first; bits < last;) {
        std::size_t n = 0;
        for (; n < kBlock && bits < last; bits += stride) {
            const auto x = std::bit_cast<float>(static_cast<std::uint32_t>(bits));
            if (std::isfinite(x)) xs[n++] = x;
        }
        fn.f(xs, ys, n);
        for (std::size_t i = 0; i < n; ++i) {
            const float x = xs[i], y = ys[i];
            const double ref = fn.ref(static_cast<double>(x));
            ++r.count;
            if (x < fn.ulp_from) {
                const double err = std::fabs(static_cast<double>(y) - ref);
                if (err > r.max_abs || std::isnan(err)) r.max_abs = err, r.worst_abs_x = x;
                continue;
            }
            const double err = ulp_error(y, ref);
            if (err > r.max_ulp || std::isnan(err)) r.max_ulp = err, r.worst_x = x;
        }
    }
    return r;
}

}  // namespace nnjit::vmath_test
