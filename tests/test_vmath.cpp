// vmath (include/nnjit/vmath.hpp) over ScalarMath<float>: a dense sweep of float32 inputs
// against float64 references (every 257th bit pattern, so all mantissa bits vary), and the
// special values of each function's documented policy. The exhaustive sweep over all 2^32
// inputs is tests/long/vmath_exhaustive.cpp (ctest label `long`).
#include <catch2/catch.hpp>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>

#include "vmath_sweep.hpp"

using namespace nnjit;
using namespace nnjit::vmath_test;

namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

bool same_bits(float a, float b) { return std::bit_cast<std::uint32_t>(a) == std::bit_cast<std::uint32_t>(b); }

}  // namespace

TEST_CASE("vmath: dense sweep within the documented ulp bound", "[vmath]") {
    for (const auto& fn : kFunctions) {
        SECTION(fn.name) {
            const auto r = sweep(fn, 0, std::uint64_t{1} << 32, 257);
            INFO(fn.name << ": max " << r.max_ulp << " ulp at x = " << r.worst_x << " (" << r.count << " inputs)");
            CHECK(r.count > 16'000'000);
            CHECK(r.max_ulp <= fn.bound);
            INFO("below " << fn.ulp_from << ": max absolute error " << r.max_abs << " at x = " << r.worst_abs_x);
            CHECK(r.max_abs <= fn.abs_bound);
        }
    }
}

TEST_CASE("vmath: exp saturation, subnormals and NaN", "[vmath]") {
    CHECK(same_bits(M::exp(-kInf), 0.0f));
    CHECK(M::exp(kInf) == kInf);
    CHECK(M::exp(std::nextafter(88.72283905206835f, kInf)) == kInf);  // just above ln(FLT_MAX)
    CHECK(M::exp(88.73f) == kInf);
    CHECK(M::exp(1e30f) == kInf);
    CHECK(std::isfinite(M::exp(88.7228f)));
    CHECK(same_bits(M::exp(-104.0f), 0.0f));
    CHECK(same_bits(M::exp(-1e30f), 0.0f));
    CHECK(M::exp(0.0f) == 1.0f);
    CHECK(M::exp(-0.0f) == 1.0f);
    // Large negative arguments: correctly rounded subnormals (error at most half a subnormal ulp
    // plus the polynomial's share, checked over a fine grid).
    for (float x = -103.9f; x < -87.0f; x += 0.0137f) {
        const double ref = std::exp(static_cast<double>(x));
        INFO("x = " << x);
        CHECK(ulp_error(M::exp(x), ref) <= 1.0);
        CHECK(static_cast<double>(M::exp(x)) == Approx(ref).epsilon(1e-6).margin(0x1p-149));
    }
    CHECK(std::isnan(M::exp(std::numeric_limits<float>::quiet_NaN())));
}

TEST_CASE("vmath: expm1 special values", "[vmath]") {
    CHECK(M::expm1(-kInf) == -1.0f);
    CHECK(M::expm1(-100.0f) == -1.0f);
    CHECK(M::expm1(kInf) == kInf);
    CHECK(M::expm1(89.0f) == kInf);
    CHECK(same_bits(M::expm1(-0.0f), -0.0f));
    CHECK(same_bits(M::expm1(0.0f), 0.0f));
    CHECK(M::expm1(1e-30f) == 1e-30f);
    CHECK(M::expm1(-1e-30f) == -1e-30f);
    CHECK(std::isnan(M::expm1(std::numeric_limits<float>::quiet_NaN())));
}

TEST_CASE("vmath: log special values and subnormals", "[vmath]") {
    CHECK(M::log(0.0f) == -kInf);
    CHECK(M::log(-0.0f) == -kInf);
    CHECK(std::isnan(M::log(-1.0f)));
    CHECK(std::isnan(M::log(-kInf)));
    CHECK(std::isnan(M::log(-1e-40f)));
    CHECK(M::log(kInf) == kInf);
    CHECK(M::log(1.0f) == 0.0f);
    CHECK(std::isnan(M::log(std::numeric_limits<float>::quiet_NaN())));
    // Every subnormal power of two and a few others: within 1 ulp.
    for (int k = 127; k <= 149; ++k) {
        const float x = std::ldexp(1.0f, -k);
        INFO("x = 2^-" << k);
        CHECK(ulp_error(M::log(x), std::log(static_cast<double>(x))) <= 1.0);
        CHECK(ulp_error(M::log(x * 1.75f), std::log(static_cast<double>(x * 1.75f))) <= 1.0);
    }
    CHECK(ulp_error(M::log(std::numeric_limits<float>::denorm_min()), std::log(0x1p-149)) <= 0.5);
}

TEST_CASE("vmath: log1p special values", "[vmath]") {
    CHECK(M::log1p(-1.0f) == -kInf);
    CHECK(std::isnan(M::log1p(-1.5f)));
    CHECK(std::isnan(M::log1p(-kInf)));
    CHECK(M::log1p(kInf) == kInf);
    CHECK(same_bits(M::log1p(-0.0f), -0.0f));
    CHECK(same_bits(M::log1p(0.0f), 0.0f));
    CHECK(M::log1p(1e-30f) == 1e-30f);
    CHECK(M::log1p(std::numeric_limits<float>::max()) == Approx(88.7228391).epsilon(1e-7));
    CHECK(std::isnan(M::log1p(std::numeric_limits<float>::quiet_NaN())));
}

TEST_CASE("vmath: tanh saturation and accuracy near 0", "[vmath]") {
    CHECK(M::tanh(kInf) == 1.0f);
    CHECK(M::tanh(-kInf) == -1.0f);
    CHECK(M::tanh(9.02f) == 1.0f);
    CHECK(M::tanh(-1e30f) == -1.0f);
    CHECK(same_bits(M::tanh(-0.0f), -0.0f));
    CHECK(same_bits(M::tanh(0.0f), 0.0f));
    for (float x : {1e-30f, -1e-30f, 1e-10f, 0x1p-12f, -0x1p-13f, std::numeric_limits<float>::denorm_min()})
        CHECK(M::tanh(x) == x);
    CHECK(std::isnan(M::tanh(std::numeric_limits<float>::quiet_NaN())));
}

TEST_CASE("vmath: tanh is odd, never beyond 1, and its gradient is never negative or NaN", "[vmath]") {
    M m;
    // Every 31st float from 0 to 12 (tanh rounds to 1 from 9.011 on), and the infinities.
    std::uint64_t checked = 0, bad = 0;
    float first_bad = 0;
    for (std::uint32_t bits = 0; bits <= std::bit_cast<std::uint32_t>(12.0f); bits += 31, ++checked) {
        const float x = std::bit_cast<float>(bits);
        const float y = M::tanh(x);
        const auto [g] = rules::Tanh::vjp(m, x, y, 1.0f);
        if (!(y <= 1.0f && M::tanh(-x) == -y && g >= 0.0f && g <= 1.0f) && bad++ == 0) first_bad = x;
    }
    INFO(bad << " of " << checked << " inputs fail, the first at x = " << first_bad);
    CHECK(bad == 0);
    CHECK(checked > 30'000'000);
    const auto [g_inf] = rules::Tanh::vjp(m, kInf, M::tanh(kInf), 1.0f);
    CHECK(g_inf == 0.0f);
}

TEST_CASE("vmath: composed rules saturate exactly and propagate NaN", "[vmath]") {
    M m;
    const float nan = std::numeric_limits<float>::quiet_NaN();
    CHECK(same_bits(rules::Sigmoid::forward(m, -kInf), 0.0f));
    CHECK(rules::Sigmoid::forward(m, kInf) == 1.0f);
    CHECK(rules::Sigmoid::forward(m, 1000.0f) == 1.0f);
    CHECK(same_bits(rules::Sigmoid::forward(m, -1000.0f), 0.0f));
    // The saturated gradient is exactly 0, never NaN.
    const auto [g] = rules::Sigmoid::vjp(m, 1000.0f, rules::Sigmoid::forward(m, 1000.0f), 1.0f);
    CHECK(g == 0.0f);
    const auto [gt] = rules::Tanh::vjp(m, -kInf, M::tanh(-kInf), 1.0f);
    CHECK(gt == 0.0f);
    CHECK(rules::Softplus::forward(m, kInf) == kInf);
    CHECK(same_bits(rules::Softplus::forward(m, -kInf), 0.0f));
    CHECK(rules::Elu::forward(m, -kInf, 1.0) == -1.0f);
    for (float y : {rules::Sigmoid::forward(m, nan), rules::Softplus::forward(m, nan), rules::Silu::forward(m, nan),
                    rules::Elu::forward(m, nan, 1.0), M::exp(nan), M::log(nan), M::tanh(nan), M::log1p(nan),
                    M::expm1(nan)})
        CHECK(std::isnan(y));
}

// ---- float64 ---------------------------------------------------------------------------

namespace {

using D = ScalarMath<double>;

// Error of y against a long double reference, in ulps of the float64 format (subnormal ulp
// 2^-1074). Overflow: y must be exactly the infinity the reference rounds to.
double ulp_error64(double y, long double ref) {
    if (std::isnan(ref) || std::isnan(y)) return std::isnan(ref) && std::isnan(y) ? 0.0 : HUGE_VAL;
    const auto rounded = static_cast<double>(ref);
    if (std::isinf(rounded) || std::isinf(y)) return y == rounded ? 0.0 : HUGE_VAL;
    int e = 0;
    std::frexp(rounded, &e);
    const long double ulp = std::ldexp(1.0L, std::max(e - 53, -1074));
    return static_cast<double>(std::fabs(static_cast<long double>(y) - ref) / ulp);
}

struct Function64 {
    const char* name;
    double (*f)(double);
    long double (*ref)(long double);
    double lo, hi;  // the range where inputs are dense; others come from random bit patterns
    double bound;   // documented in vmath.hpp
};

}  // namespace

TEST_CASE("vmath float64: random inputs within the documented ulp bound", "[vmath]") {
    const Function64 functions[] = {
        {"exp", [](double x) { return D::exp(x); }, [](long double x) { return std::exp(x); }, -746, 710, 2},
        {"expm1", [](double x) { return D::expm1(x); }, [](long double x) { return std::expm1(x); }, -40, 710, 2},
        {"log", [](double x) { return D::log(x); }, [](long double x) { return std::log(x); }, 0, 4, 2},
        {"log1p", [](double x) { return D::log1p(x); }, [](long double x) { return std::log1p(x); }, -1, 4, 2},
        // t / (t + 2): expm1's error, and two roundings.
        {"tanh", [](double x) { return D::tanh(x); }, [](long double x) { return std::tanh(x); }, -20, 20, 2.5},
        // Dense over every piece and past the clamp (erfc(27.3) rounds to 0).
        {"erfc", [](double x) { return D::erfc(x); }, [](long double x) { return std::erfc(x); }, -6, 28, 4},
    };
    for (const auto& fn : functions) {
        SECTION(fn.name) {
            std::uint64_t state = 0x9E3779B97F4A7C15ull;  // splitmix64, fixed seed
            auto next = [&] {
                std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
                z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
                z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
                return z ^ (z >> 31);
            };
            double worst = 0, worst_x = 0;
            for (int i = 0; i < 400'000; ++i) {
                const std::uint64_t r = next();
                // Half uniform in [lo, hi], half any finite bit pattern (all exponents).
                double x = i % 2 ? fn.lo + (fn.hi - fn.lo) * static_cast<double>(r >> 11) * 0x1p-53
                                 : std::bit_cast<double>(r);
                if (!std::isfinite(x)) continue;
                const double err = ulp_error64(fn.f(x), fn.ref(static_cast<long double>(x)));
                if (!(err <= worst)) worst = err, worst_x = x;
            }
            INFO(fn.name << ": max " << worst << " ulp at x = " << worst_x);
            CHECK(worst <= fn.bound);
            if (std::getenv("NNJIT_VMATH_REPORT"))
                std::printf("float64 %-6s max %.4f ulp at %.17g\n", fn.name, worst, worst_x);
        }
    }
}

TEST_CASE("vmath float64: special values", "[vmath]") {
    const double inf = std::numeric_limits<double>::infinity();
    const double nan = std::numeric_limits<double>::quiet_NaN();
    CHECK(D::exp(-inf) == 0.0);
    CHECK(D::exp(709.79) == inf);
    CHECK(std::isfinite(D::exp(709.78)));
    CHECK(D::exp(-746.0) == 0.0);
    CHECK(D::exp(-745.0) == std::numeric_limits<double>::denorm_min());
    CHECK(D::expm1(-inf) == -1.0);
    CHECK(same_bits(static_cast<float>(D::expm1(-0.0)), -0.0f));
    CHECK(D::log(0.0) == -inf);
    CHECK(std::isnan(D::log(-1.0)));
    CHECK(D::log(inf) == inf);
    CHECK(ulp_error64(D::log(std::numeric_limits<double>::denorm_min()), std::log(0x1p-1074L)) <= 0.5);
    CHECK(D::log1p(-1.0) == -inf);
    CHECK(D::tanh(inf) == 1.0);
    CHECK(D::tanh(-inf) == -1.0);
    CHECK(D::tanh(1e-300) == 1e-300);
    CHECK(std::signbit(D::tanh(-0.0)));
    CHECK(D::erfc(-inf) == 2.0);
    CHECK(D::erfc(inf) == 0.0);
    CHECK(D::erfc(0.0) == 1.0);
    CHECK(D::erfc(-0.0) == 1.0);
    CHECK(D::erfc(27.3) == 0.0);  // erfc(27.23) < 2^-1075: past the clamp, exactly 0
    CHECK(D::erfc(-30.0) == 2.0);
    CHECK(D::erfc(27.0) > 0.0);  // ~5e-319, subnormal
    for (double y : {D::exp(nan), D::expm1(nan), D::log(nan), D::log1p(nan), D::tanh(nan), D::erfc(nan)})
        CHECK(std::isnan(y));
}
