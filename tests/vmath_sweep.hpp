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
    int e = 0;
    std::frexp(ref, &e);  // |ref| = f * 2^e, f in [0.5, 1): float ulp = 2^(e - 24)
    const double ulp = std::ldexp(1.0, std::max(e - 24, -149));
    return std::fabs(static_cast<double>(y) - ref) / ulp;
}

inline double sigmoid_ref(double x) {
    const double e = std::exp(-std::fabs(x));
    return x < 0 ? e / (1 + e) : 1 / (1 + e);
}

struct Function {
    const char* name;
    float (*f)(float);
    double (*ref)(double);
    double bound;  // the documented bound in ulps (vmath.hpp), for inputs >= ulp_from
    // Below ulp_from the error is measured in absolute terms (see vmath.hpp for why).
    float ulp_from = -std::numeric_limits<float>::infinity();
    double abs_bound = 0;
};

inline const Function kFunctions[] = {
    {"exp", [](float x) { return M::exp(x); }, [](double x) { return std::exp(x); }, 4},
    {"expm1", [](float x) { return M::expm1(x); }, [](double x) { return std::expm1(x); }, 4},
    {"log", [](float x) { return M::log(x); }, [](double x) { return std::log(x); }, 4},
    {"log1p", [](float x) { return M::log1p(x); }, [](double x) { return std::log1p(x); }, 4},
    {"tanh", [](float x) { return M::tanh(x); }, [](double x) { return std::tanh(x); }, 4},
    {"erfc", [](float x) { return M::erfc(x); }, [](double x) { return std::erfc(x); }, 4},
    // gelu rounds its argument x * -1/sqrt2 (and the constant) to float32 before erfc, and erfc
    // turns a relative error d of its argument z into about 2 z^2 d = x^2 d: below x = -1 the
    // bound is in absolute terms (see vmath.hpp).
    {"gelu", [](float x) { M m; return rules::Gelu::forward(m, x); },
     [](double x) { return 0.5 * x * std::erfc(-x / std::numbers::sqrt2); }, 4, -1.0f, 1e-6},
    {"sigmoid", [](float x) { M m; return rules::Sigmoid::forward(m, x); }, sigmoid_ref, 4},
    {"softplus", [](float x) { M m; return rules::Softplus::forward(m, x); },
     [](double x) { return std::max(x, 0.0) + std::log1p(std::exp(-std::fabs(x))); }, 4},
    // Below ln(FLT_MIN) sigmoid(x) is subnormal, with few significant bits, and x * sigmoid(x)
    // scales that rounding error up by |x| <= 104.
    {"silu", [](float x) { M m; return rules::Silu::forward(m, x); }, [](double x) { return x * sigmoid_ref(x); }, 4,
     -87.33654f, 0x1p-142},
    {"elu", [](float x) { M m; return rules::Elu::forward(m, x, 1.0); },
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
    SweepResult r;
    for (std::uint64_t bits = first; bits < last; bits += stride) {
        const auto x = std::bit_cast<float>(static_cast<std::uint32_t>(bits));
        if (!std::isfinite(x)) continue;
        const float y = fn.f(x);
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
    return r;
}

}  // namespace nnjit::vmath_test
