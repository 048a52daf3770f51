// The Math of op_rules.hpp over plain numbers (float or double): what the interpreter and the
// compile-time evaluator run. Written with branch-free selects so that g++ vectorises loops
// over it (compile with -fno-trapping-math -fno-math-errno, and -ffp-contract=off so that the
// result does not depend on whether a * b + c was fused).
//
// Besides the interface of op_rules.hpp it provides the low-level primitives that the
// approximations of vmath are written in; the JIT's Math provides the same ones over LLVM
// values, so both engines compute the same bits:
//   m.is_f64()           whether values are float64
//   m.fma(a, b, c)       a * b + c with one rounding
//   m.round_int(a)       nearest integer, ties to even, as a floating value (|a| < 2^22)
//   m.scale2(a, n)       a * 2^n for an integral n with -126 <= n <= 127 (float64: -1022..1023),
//                        made from exponent bits (no libm call)
//   m.scale2_wide(a, n)  a * 2^n rounded once, for |a| in [2^-8, 2] and an integral n in
//                        [-190, 190]: (a * 2^(n-h)) * 2^h with h = floor(n/2), the first product
//                        exact, so a subnormal result is rounded once. Any correct rounding of
//                        a * 2^n gives the same bits (the JIT's is one vscalef at 512 bits).
//   m.exponent(a)        for a positive normal a: e such that a = m * 2^e with m in [1, 2), as a
//                        floating value
//   m.mantissa(a)        that m, in [1, 2)
//   m.copysign(a, b)     |a| with the sign of b
//   m.max(a, b), m.min(a, b)   a > b ? a : b and a < b ? a : b: b when either is NaN (x86's
//                        maxps/minps; vmath puts the constant first, so that a NaN passes)
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "nnjit/vmath.hpp"

namespace nnjit {

template <class T> struct ScalarMath {
    static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>);
    using Value = T;
    using Mask = bool;
    using Bits = std::conditional_t<std::is_same_v<T, float>, std::uint32_t, std::uint64_t>;
    static constexpr int kMantissaBits = std::is_same_v<T, float> ? 23 : 52;
    static constexpr int kExponentBias = std::is_same_v<T, float> ? 127 : 1023;
    // Integers as wide as the values: float <-> int32 conversions vectorise in one instruction
    // per vector, float <-> int64 ones need a split and a permute.
    using Int = std::conditional_t<std::is_same_v<T, float>, std::int32_t, std::int64_t>;
    // 1.5 * 2^(mantissa bits): n + kShifter has n's integer value in its low bits.
    static constexpr T kShifter = std::is_same_v<T, float> ? 0x1.8p23f : 0x1.8p52;

    static constexpr bool is_f64() { return std::is_same_v<T, double>; }
    static T c(double v) { return static_cast<T>(v); }
    static T add(T a, T b) { return a + b; }
    static T sub(T a, T b) { return a - b; }
    static T mul(T a, T b) { return a * b; }
    static T div(T a, T b) { return a / b; }
    static T neg(T a) { return -a; }
    static T fma(T a, T b, T c) { return std::fma(a, b, c); }
    static T sqrt(T a) { return std::sqrt(a); }
    static T abs(T a) { return std::fabs(a); }
    static T copysign(T a, T b) { return std::copysign(a, b); }
    static T max(T a, T b) { return a > b ? a : b; }
    static T min(T a, T b) { return a < b ? a : b; }
    static T round_int(T a) { return std::nearbyint(a); }
    static T scale2(T a, T n) { return a * pow2(to_int(n)); }
    static T scale2_wide(T a, T n) {
        const Int i = to_int(n), h = i >> 1;  // integer operations: no compare, no select
        return a * pow2(i - h) * pow2(h);
    }
    static T exponent(T a) {
        const auto biased = static_cast<Int>(std::bit_cast<Bits>(a) >> kMantissaBits);
        return static_cast<T>(biased - kExponentBias);
    }
    static T mantissa(T a) {
        constexpr Bits mantissa_mask = (Bits{1} << kMantissaBits) - 1;
        constexpr Bits one_exponent = static_cast<Bits>(kExponentBias) << kMantissaBits;
        return std::bit_cast<T>(static_cast<Bits>((std::bit_cast<Bits>(a) & mantissa_mask) | one_exponent));
    }

    // vmath's algorithms (the JIT runs the same code). Always inlined, so that loops over them
    // vectorise.
    [[gnu::always_inline]] static T exp(T a) {
        ScalarMath m;
        return vmath::exp(m, a);
    }
    [[gnu::always_inline]] static T expm1(T a) {
        ScalarMath m;
        return vmath::expm1(m, a);
    }
    [[gnu::always_inline]] static T log(T a) {
        ScalarMath m;
        return vmath::log(m, a);
    }
    [[gnu::always_inline]] static T log1p(T a) {
        ScalarMath m;
        return vmath::log1p(m, a);
    }
    [[gnu::always_inline]] static T tanh(T a) {
        ScalarMath m;
        return vmath::tanh(m, a);
    }
    [[gnu::always_inline]] static T erfc(T a) {
        ScalarMath m;
        return vmath::erfc(m, a);
    }

    static bool gt(T a, T b) { return a > b; }

    static bool lt(T a, T b) { return a < b; }
    static bool eq(T a, T b) { return a == b; }
    static bool is_nan(T a) { return a != a; }
    static bool mask_or(bool p, bool q) { return p | q; }
    static T select(bool mask, T a, T b) { return mask ? a : b; }

private:
    // An integral n (|n| < 2^22) as an integer, from the bits of n + kShifter: no conversion, so
    // a NaN n (from a NaN input, whose result is NaN anyway) is no undefined behaviour.
    static Int to_int(T n) {
        return static_cast<Int>(std::bit_cast<Bits>(n + kShifter) - std::bit_cast<Bits>(kShifter));
    }
    // 2^i for i in the normal exponent range, from its bits (unsigned arithmetic: no overflow).
    static T pow2(Int i) {
        return std::bit_cast<T>(static_cast<Bits>((static_cast<Bits>(i) + kExponentBias) << kMantissaBits));
    }
};

}  // namespace nnjit
