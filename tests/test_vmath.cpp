// vmath (include/nnjit/vmath.hpp) over ScalarMath<float>: a dense sweep of float32 inputs
// against float64 references (every 257th bit pattern, so all mantissa bits vary), and the
// special values of each function's documented policy. The exhaustive sweep over all 2^32
// inputs is tests/long/vmath_exhaustive.cpp (ctest label `long`).
#include <catch2/catch.hpp>

#include <bit>
#include <cmath>
#include <cstdint>
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
