// vmath: every approximation of a transcendental function in nnjit, in one place (DESIGN.md,
// principle 5). Each function is written once, generically over a Math `m` (op_rules.hpp),
// using only its arithmetic and low-level primitives (c, add, sub, mul, div, neg, fma, sqrt,
// abs, copysign, min, max, round_int, scale2, scale2_wide, exponent, mantissa, gt, lt, eq, is_nan,
// mask_or, select):
// no libm, no branch on a value (both sides are computed and a select picks one). So the same
// code instantiates over ScalarMath<float> (the interpreter; g++ vectorises the loops) and over
// the JIT's Math (which emits the same operations as LLVM IR), and the two engines agree bit
// for bit.
//
// Precision: every function has a float32 and a float64 version (the Math's is_f64() picks one;
// its value is a property of the Math, so the choice folds away).
//
// Error bounds (float32) are measured against a float64 reference (glibc's double exp/log/...,
// not rounded; the error is |y - ref| in units of the float32 ulp of ref, subnormal ulp =
// 2^-149), by tests/test_vmath.cpp (dense sweep, every 257th bit pattern, asserts the bounds)
// and tests/long/vmath_exhaustive.cpp (all 2^32 patterns, ctest label `long`). float64 is
// measured against long double on 400k random inputs per function (test_vmath.cpp). Each
// function's comment gives its measured bound; the table at the end of this file has them all,
// with the composed rules of op_rules.hpp.
//
// NaN policy: a NaN input returns that NaN (same payload) except log/log1p of a negative
// number, which return the default quiet NaN. No fast-math flags are assumed anywhere.
//
// Every function is always_inline: g++ vectorises a loop over ScalarMath<float> only when the
// whole function body is inlined into it (its inliner otherwise keeps exp/erfc out of line).
#pragma once

#include <array>
#include <cstddef>
#include <limits>
#include <tuple>

namespace nnjit::vmath {

namespace detail {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kLog2e = 1.44269504088896340736;
constexpr double kSqrt2 = 1.41421356237309504880;

// The constants that differ between float32 and float64, picked by m.is_f64() (a property of
// the Math, not of a value: the compiler folds the choice).
struct Consts {
    // ln 2 split for Cody-Waite reduction: ln2_hi is ln 2 rounded to the format; fma computes
    // x - n*ln2_hi exactly (see exp), ln2_lo = ln 2 - ln2_hi carries the rest.
    double ln2_hi, ln2_lo;
    double exp_lo, exp_hi;  // exp(exp_lo) < min subnormal / 2, exp(exp_hi) > max finite
    double expm1_lo;        // expm1(x < expm1_lo) rounds to -1
    double expm1_big_n;     // beyond 2^n, the -1 of expm1 is below half an ulp
    double tiny;            // expm1(x) = x for |x| < tiny
    double min_normal, sub_scale, sub_scale_log2;  // log: subnormals are scaled up first
};
constexpr Consts kF32{0.693147182464599609375, -1.904654299957768e-09, -104, 89, -30, 24, 0x1p-25, 0x1p-126,
                      0x1p24, 24};
constexpr Consts kF64{0.69314718055994528623, 2.3190468138462996e-17, -746, 710, -40, 53, 0x1p-54, 0x1p-1022,
                      0x1p54, 54};
template <class M> constexpr const Consts& consts(M& m) { return m.is_f64() ? kF64 : kF32; }

// c0 + x*(c1 + x*(c2 + ...)), Horner's rule with one rounding per step.
template <class M, class V> [[gnu::always_inline]] inline auto horner(M& m, V, double c0) { return m.c(c0); }
template <class M, class V, class... C> [[gnu::always_inline]] inline auto horner(M& m, V x, double c0, C... rest) {
    return m.fma(horner(m, x, rest...), x, m.c(c0));
}

// 1.5 * 2^23: for |v| < 2^22, v + kShifter rounds v to an integer (ties to even), which
// subtracting kShifter again gives back exactly.
constexpr double kShifter = 0x1.8p23;
// float32 exp: exp(r) ~ 1 + r + r^2 P(r), P(r) = sum kExpP[i] r^i on |r| <= ln2/2.
constexpr std::array<double, 5> kExpP{0.5, 0.16666577756404877, 0.041666556149721146, 0.008363173343241215,
                                      0.0013926175888627768};

// Polynomial part of exp on |r| <= ln2/2: exp(r) ~ 1 + r + r^2 * exp_tail(r).
// float32: Cephes Math Library 2.2 (S. L. Moshier), expf.c, coefficients only (degree 5).
// float64: the Taylor series to r^13 (1/k!; the remainder r^14/14! < 5e-18 relative).
template <class M, class V> [[gnu::always_inline]] inline auto exp_tail(M& m, V r) {
    if (m.is_f64())
        return horner(m, r, 1.0 / 2, 1.0 / 6, 1.0 / 24, 1.0 / 120, 1.0 / 720, 1.0 / 5040, 1.0 / 40320, 1.0 / 362880,
                      1.0 / 3628800, 1.0 / 39916800, 1.0 / 479001600, 1.0 / 6227020800);
    return horner(m, r, 5.0000001201E-1, 1.6666665459E-1, 4.1665795894E-2, 8.3334519073E-3, 1.3981999507E-3,
                  1.9875691500E-4);
}

// Cody-Waite reduction x = n*ln2 + r with |r| <= ln2/2 (+ rounding), for |x| <= 105. With fma,
// x - n*kLn2Hi is exact: |r| < 0.5 and r is a multiple of min(ulp(x), 2^-24).
template <class M, class V> [[gnu::always_inline]] inline auto reduce_ln2(M& m, V x, V n) {
    auto r = m.fma(m.neg(n), m.c(consts(m).ln2_hi), x);
    return m.fma(m.neg(n), m.c(consts(m).ln2_lo), r);
}

// a * 2^n rounded once (m.scale2_wide: the Math's own, see scalar_math.hpp), for every a this
// file passes (|a| in [2^-8, 2]) and integral n in [-190, 190]: results in the subnormal range
// are correctly rounded from a, and 2^128 is reachable.
template <class M, class V> [[gnu::always_inline]] inline auto scale2_wide(M& m, V a, V n) {
    return m.scale2_wide(a, n);
}

// log(1 + f) for f in [sqrt(1/2) - 1, sqrt(2) - 1] without the final f: returns t with
// log(1+f) ~ f + t.
// float32: t = -f^2/2 + f^3 * P(f), Cephes Math Library 2.2 (S. L. Moshier), logf.c,
// coefficients only (degree 8).
// float64: as fdlibm's log, t = s (h + R) - h with h = f^2/2, s = f / (2 + f), R = z (2/3 + 2/5 z
// + ... + 2/21 z^9), z = s^2 <= 0.0295: the series of 2 atanh(s) (coefficients 2/(2k+1); the
// remainder is below 1e-17 relative).
template <class M, class V> [[gnu::always_inline]] inline auto log1p_tail(M& m, V f) {
    if (m.is_f64()) {
        auto h = m.mul(m.c(0.5), m.mul(f, f));
        auto s = m.div(f, m.add(m.c(2), f));
        auto z = m.mul(s, s);
        auto r = m.mul(z, horner(m, z, 2.0 / 3, 2.0 / 5, 2.0 / 7, 2.0 / 9, 2.0 / 11, 2.0 / 13, 2.0 / 15, 2.0 / 17,
                                 2.0 / 19, 2.0 / 21));
        return m.fma(s, m.add(h, r), m.neg(h));
    }
    auto p = horner(m, f, 3.3333331174E-1, -2.4999993993E-1, 2.0000714765E-1, -1.6668057665E-1, 1.4249322787E-1,
                    -1.2420140846E-1, 1.1676998740E-1, -1.1514610310E-1, 7.0376836292E-2);
    auto z = m.mul(f, f);
    return m.fma(m.mul(f, z), p, m.mul(m.c(-0.5), z));
}

// Horner's rule with one of three coefficient sets per lane: c3 where in3, else c1 where in1,
// else c2 (one select per coefficient, then a single polynomial). Recursion over the index K,
// not a loop, so that every coefficient is a compile-time constant once inlined.
template <std::size_t K = 0, class M, class V, class Mask, std::size_t N>
[[gnu::always_inline]] inline auto horner_pick(M& m, V x, Mask in1, Mask in3, const std::array<double, N>& c1,
                                               const std::array<double, N>& c2, const std::array<double, N>& c3) {
    auto ck = m.select(in3, m.c(c3[K]), m.select(in1, m.c(c1[K]), m.c(c2[K])));
    if constexpr (K + 1 == N) return ck;
    else return m.fma(horner_pick<K + 1>(m, x, in1, in3, c1, c2, c3), x, ck);
}

}  // namespace detail

// exp(x).
// Algorithm (float32): x is clamped to [-104, 89] (exp(-104) < 2^-150 rounds to 0; exp(89)
// overflows; a NaN passes the clamp and flows through the arithmetic: no select for it),
// n = round(x / ln2) by the shifter (x * log2e + 1.5 * 2^23 rounded to an integer, ties to even),
// r = x - n ln2 (Cody-Waite, exact with fma), exp(r) = 1 + r + r^2 P(r) with P of degree 4
// (kExpP, a near-minimax fit, tools/fit_vmath_exp.py: relative error 9.7e-9 on |r| <= ln2/2,
// evaluated by Estrin's scheme), scaled by 2^n in two exact steps so subnormal results are
// rounded once. Special values: exp(-inf) = 0, exp(+inf) = inf, exp(x > ln(FLT_MAX)) = inf,
// NaN -> the same NaN.
// float64: x clamped to [-746, 710] (NaN to the low end, put back by a select), n by round_int,
// Taylor polynomial to r^13 (exp_tail).
// Measured: float32 1.078 ulp (exhaustive), float64 0.975 ulp (400k random inputs).
template <class M> [[gnu::always_inline]] inline auto exp(M& m, auto x) {
    using namespace detail;
    const auto& k = consts(m);
    if (m.is_f64()) {
        auto xc =
            m.select(m.gt(x, m.c(k.exp_lo)), m.select(m.lt(x, m.c(k.exp_hi)), x, m.c(k.exp_hi)), m.c(k.exp_lo));
        auto n = m.round_int(m.mul(xc, m.c(kLog2e)));
        auto r = reduce_ln2(m, xc, n);
        auto p = m.add(m.c(1), m.fma(m.mul(r, r), exp_tail(m, r), r));
        return m.select(m.is_nan(x), x, scale2_wide(m, p, n));
    }
    auto xc = m.min(m.c(k.exp_hi), m.max(m.c(k.exp_lo), x));
    auto n = m.sub(m.fma(xc, m.c(kLog2e), m.c(kShifter)), m.c(kShifter));
    auto r = reduce_ln2(m, xc, n);
    auto r2 = m.mul(r, r);
    // P(r) = (p0 + p1 r) + r^2 ((p2 + p3 r) + r^2 p4)
    auto p = m.fma(r2, m.fma(r2, m.c(kExpP[4]), m.fma(r, m.c(kExpP[3]), m.c(kExpP[2]))),
                   m.fma(r, m.c(kExpP[1]), m.c(kExpP[0])));
    return scale2_wide(m, m.add(m.c(1), m.fma(r2, p, r)), n);
}

// expm1(x) = exp(x) - 1, accurate near 0.
// Algorithm: x clamped to [-30, 89] (expm1(x < -17.4) rounds to -1), n and r as in exp,
// expm1(r) = r + r^2 P(r) with exp's P; then expm1(x) = 2^n expm1(r) + (2^n - 1) with one
// rounding (fma) for n <= 24, and (expm1(r) + 1) 2^n as in exp beyond (the -1 is below half an
// ulp there). |x| < 2^-25 and +-0 return x (keeps the sign of zero). expm1(-inf) = -1,
// expm1(inf) = inf, overflow as exp, NaN -> the same NaN.
// float64: clamp [-40, 710], 2^n - 1 path for n <= 53, |x| < 2^-54 returns x.
// Measured: float32 1.443 ulp (exhaustive), float64 1.409 ulp (random).
template <class M> [[gnu::always_inline]] inline auto expm1(M& m, auto x) {
    using namespace detail;
    const auto& k = consts(m);
    auto xc =
        m.select(m.gt(x, m.c(k.expm1_lo)), m.select(m.lt(x, m.c(k.exp_hi)), x, m.c(k.exp_hi)), m.c(k.expm1_lo));
    auto n = m.round_int(m.mul(xc, m.c(kLog2e)));
    auto r = reduce_ln2(m, xc, n);
    auto em = m.fma(m.mul(r, r), exp_tail(m, r), r);
    auto big = m.gt(n, m.c(k.expm1_big_n));
    auto s = m.scale2(m.c(1), m.select(big, m.c(0), n));
    auto small_n = m.fma(em, s, m.sub(s, m.c(1)));
    auto big_n = scale2_wide(m, m.add(em, m.c(1)), n);
    auto y = m.select(big, big_n, small_n);
    return m.select(m.mask_or(m.is_nan(x), m.lt(m.abs(x), m.c(k.tiny))), x, y);
}

// log(x).
// Algorithm: subnormal x is first scaled by 2^24 (exact); x = 2^e * m with m in
// [sqrt(1/2), sqrt(2)), f = m - 1 (exact), log(1+f) = f - f^2/2 + f^3 P(f) (degree-8 P, Cephes
// logf coefficients), log(x) = e ln2 + log(1+f), with e*ln2 added by fma so that its rounding
// happens once. Special values: log(0) = -inf, log(x < 0) = NaN, log(inf) = inf, NaN -> the
// same NaN.
// float64: subnormals scaled by 2^54, fdlibm-style atanh series (log1p_tail).
// Measured: float32 0.862 ulp (exhaustive, subnormals included), float64 0.792 ulp (random).
template <class M> [[gnu::always_inline]] inline auto log(M& m, auto x) {
    using namespace detail;
    const auto& k = consts(m);
    auto sub = m.lt(x, m.c(k.min_normal));
    auto xs = m.select(sub, m.mul(x, m.c(k.sub_scale)), x);
    auto e = m.sub(m.exponent(xs), m.select(sub, m.c(k.sub_scale_log2), m.c(0)));
    auto mant = m.mantissa(xs);
    auto over = m.gt(mant, m.c(kSqrt2));
    mant = m.select(over, m.mul(mant, m.c(0.5)), mant);
    e = m.select(over, m.add(e, m.c(1)), e);
    auto f = m.sub(mant, m.c(1));
    auto t = log1p_tail(m, f);
    auto y = m.fma(e, m.c(k.ln2_hi), m.add(f, m.fma(e, m.c(k.ln2_lo), t)));
    y = m.select(m.eq(x, m.c(kInf)), x, y);
    y = m.select(m.eq(x, m.c(0)), m.c(-kInf), y);
    y = m.select(m.lt(x, m.c(0)), m.c(kNaN), y);
    return m.select(m.is_nan(x), x, y);
}

// log1p(x) = log(1 + x), accurate near 0.
// Algorithm: u = 1 + x (rounded). Where u is in [sqrt(1/2), sqrt(2)) the polynomial of log is
// applied to f = x itself (no rounding at all). Elsewhere u = 2^e * m as in log, f = m - 1, and
// the rounding error of u, c = x - (u - 1) (exact), is added back to first order as c / u.
// Special values: log1p(-1) = -inf, log1p(x < -1) = NaN, log1p(inf) = inf, +-0 -> +-0,
// NaN -> the same NaN.
// Measured: float32 0.930 ulp (exhaustive), float64 0.811 ulp (random).
template <class M> [[gnu::always_inline]] inline auto log1p(M& m, auto x) {
    using namespace detail;
    auto u = m.add(m.c(1), x);
    auto e = m.exponent(u);
    auto mant = m.mantissa(u);
    auto over = m.gt(mant, m.c(kSqrt2));
    mant = m.select(over, m.mul(mant, m.c(0.5)), mant);
    e = m.select(over, m.add(e, m.c(1)), e);
    auto near = m.eq(e, m.c(0));
    auto f = m.select(near, x, m.sub(mant, m.c(1)));
    auto corr = m.select(near, m.c(0), m.div(m.sub(x, m.sub(u, m.c(1))), u));
    auto t = m.add(log1p_tail(m, f), corr);
    const auto& k = consts(m);
    auto y = m.fma(e, m.c(k.ln2_hi), m.add(f, m.fma(e, m.c(k.ln2_lo), t)));
    y = m.select(m.eq(x, m.c(kInf)), x, y);
    y = m.select(m.eq(x, m.c(-1)), m.c(-kInf), y);
    y = m.select(m.lt(x, m.c(-1)), m.c(kNaN), y);
    return m.select(m.mask_or(m.is_nan(x), m.eq(x, m.c(0))), x, y);
}

// tanh(x).
// Algorithm (float32): tanh(a) = q / (q + 2) with q = expm1(2a), a = min(|x|, 10) (tanh(a > 9.011)
// rounds to 1; a NaN passes the min), and the sign put back with copysign (tanh(-0) = -0). No
// cancellation anywhere, and no separate branch near 0: there q = 2a(1 + a + ...) and
// q / (q + 2) ~ a keeps the relative accuracy (for |x| < 2^-13, q + 2 rounds to 2 and the result
// is x itself, subnormals included). expm1(2a) is computed as in expm1 but cheaper, because the
// quotient damps the error of q by 2 / (q + 2), below 1 except near 0:
//  * n = round(2a / ln2) by the shifter (0..29), r = 2a - n ln2 with ONE constant, ln2 rounded to
//    float32: r itself is exact (a multiple of 2^-24 below 1/2 in magnitude), and the missing
//    n (ln2 - ln2_hi) = n * 1.9e-9 costs at most 0.1 ulp (damped by 2e/(e^2 - 1), e = exp(2a));
//  * expm1(r) = r + r g, g = r P(r) with exp's degree-4 P (kExpP, tools/fit_vmath_exp.py:
//    relative error 2.35e-8 as expm1 on |r| <= ln2/2);
//  * q = 2^n r g + (2^n r + 2^n - 1): 2^n r and 2^n exact (scale2), one fma; for n = 0 that is
//    r + r g rounded once.
// Cost per vector: 8 fma/mul + 1 division (+ adds, min, scale2 and sign bits), where the form it
// replaced (a polynomial below 0.625, 1 - 2 / (exp(2a) + 1) above, both computed) took ~20.
// Special values: tanh(+-inf) = +-1 exactly, NaN -> NaN.
// float64: tanh(a) = t / (t + 2) with t = expm1(2a) (no cancellation; = a for tiny a), 1 for
// a > 20 (tanh(a > 19.1) rounds to 1; avoids inf/inf).
// Measured: float32 2.523 ulp (exhaustive; at small |x| the roundings of q, q + 2 and the
// quotient each count almost fully), float64 2.002 ulp (random; bound 2.5: expm1's error plus
// two roundings).
template <class M> [[gnu::always_inline]] inline auto tanh(M& m, auto x) {
    using namespace detail;
    auto a = m.abs(x);
    if (m.is_f64()) {
        // tanh(a) = t / (t + 2), t = expm1(2a): no cancellation anywhere, and = a for tiny a.
        auto t = vmath::expm1(m, m.add(a, a));
        auto ac = m.select(m.gt(a, m.c(20)), m.c(1), m.div(t, m.add(t, m.c(2))));  // inf/inf
        return m.copysign(ac, x);
    }
    auto ac = m.min(m.c(10), a);
    auto n = m.sub(m.fma(ac, m.c(2 * kLog2e), m.c(kShifter)), m.c(kShifter));
    auto r = m.fma(n, m.c(-kF32.ln2_hi), m.add(ac, ac));
    auto g = m.mul(r, horner(m, r, kExpP[0], kExpP[1], kExpP[2], kExpP[3], kExpP[4]));
    auto tr = m.scale2(r, n);
    auto q = m.fma(tr, g, m.add(tr, m.sub(m.scale2(m.c(1), n), m.c(1))));
    return m.copysign(m.div(q, m.add(q, m.c(2))), x);
}

namespace detail {

// The polynomials of erfc in one format (tools/fit_vmath_erfc.py prints them), lowest degree first.
template <std::size_t NS, std::size_t NG> struct ErfcPieces {
    std::array<double, NS> small;  // erf(x)/x in z = x^2 on [0, (15/32)^2]
    // G(a) = erfc(a) exp(a^2) in u = a - 0.859375 on [15/32, 1.25] and u = a - 1.875 on
    // [1.25, 2.5]; K(s) = a G(a) in s = 1/a^2 on [2.5, a_max]. Zeros pad them to one length.
    std::array<double, NG> g1, g2, k3;
    double a_max;  // erfc(a_max) rounds to 0: a is clamped here
};

constexpr ErfcPieces<6, 9> kErfcF32{
    {1.128379225730896, -0.37612637877464294, 0.11283781379461288, -0.02686409465968609, 0.005205607507377863,
     -0.0007792756077833474},
    {0.4692927598953247, -0.3217822313308716, 0.1927611529827118, -0.1040864959359169, 0.051656775176525116,
     -0.023851590231060982, 0.010369704104959965, -0.004496148321777582, 0.0017566647147759795},
    {0.2694299817085266, -0.11801670491695404, 0.04814862459897995, -0.01849272847175598, 0.006738242227584124,
     -0.002336872508749366, 0.00077960139606148, -0.0002724154037423432, 8.403100946452469e-05},
    {0.5641895532608032, -0.2820885479450226, 0.4226550757884979, -1.0385417938232422, 3.2548177242279053,
     -10.01611328125, 22.589237213134766, -25.099416732788086, 0.0},
    10.1};

constexpr ErfcPieces<9, 23> kErfcF64{
    {1.1283791670955126, -0.37612638903183654, 0.11283791670942916, -0.026866170639419703, 0.00522397749149922,
     -0.0008548309359482557, 0.00012053962111222463, -1.486342211864553e-05, 1.4925349834965416e-06},
    {0.4692927637055388, -0.3217822294766177, 0.19276116024907244, -0.10408540492504911, 0.05165638269552994,
     -0.023877280418257315, 0.010378948293090225, -0.004273677644536616, 0.0016765637709275957,
     -0.0006295288556858942, 0.00022711767144179449, -7.897497331215898e-05, 2.6501208858847652e-05,
     -8.629235144791659e-06, 2.8887728782678774e-06, -8.852813617732576e-07},
    {0.2694299851646704, -0.11801672272799837, 0.04814863004967349, -0.018492027589906968, 0.006738039159298857,
     -0.002343281666492713, 0.0007814620115451523, -0.00025086868415814193, 7.777080712885207e-05,
     -2.3344094436031405e-05, 6.800126573003753e-06, -1.926149792848696e-06, 5.31429338141142e-07,
     -1.4305764481761694e-07, 3.761133463164933e-08, -9.615694754964349e-09, 2.421798184552475e-09,
     -6.685426692946825e-10, 1.6118016829362627e-10},
    {0.5641895835477563, -0.2820947917738641, 0.42314218765230405, -1.0578554664529758, 3.7024936231708105,
     -16.661157440060162, 91.63076582878881, -595.2416595121833, 4447.056105681142, -37159.87053585118,
     334413.4148606486, -3082235.253150828, 27523678.38167904, -226337402.215882, 1644755054.1069973,
     -10221941742.02577, 52840786395.60076, -221102721830.22025, 725797803507.2352, -1792530918840.5256,
     3123434287177.1577, -3416647717013.7964, 1762210164392.1013},
    27.3};

template <class M, class V, std::size_t NS, std::size_t NG>
[[gnu::always_inline]] inline auto erfc_of(M& m, V x, const ErfcPieces<NS, NG>& c) {
    auto a = m.abs(x);
    auto p_small = std::apply([&](auto... k) { return horner(m, m.mul(x, x), k...); }, c.small);
    auto small_v = m.fma(m.neg(x), p_small, m.c(1));
    auto ac = m.select(m.lt(a, m.c(c.a_max)), a, m.c(c.a_max));  // NaN -> a_max, put back at the end
    auto hi = m.mul(ac, ac);
    auto lo = m.fma(ac, ac, m.neg(hi));  // ac^2 = hi + lo exactly
    auto n = m.round_int(m.mul(hi, m.c(-kLog2e)));
    auto r = m.sub(reduce_ln2(m, m.neg(hi), n), lo);
    auto p = m.add(m.c(1), m.fma(m.mul(r, r), exp_tail(m, r), r));  // exp(-a^2) = p * 2^n
    auto in1 = m.lt(ac, m.c(1.25));
    auto in3 = m.gt(ac, m.c(2.5));
    auto u = m.select(in3, m.div(m.c(1), hi), m.sub(ac, m.select(in1, m.c(0.859375), m.c(1.875))));
    auto g = horner_pick(m, u, in1, in3, c.g1, c.g2, c.k3);
    // p * K / a in piece 3 (a division rounds once where 1/a then a product would round twice).
    auto e = scale2_wide(m, m.div(m.mul(p, g), m.select(in3, ac, m.c(1))), n);
    auto large_v = m.select(m.lt(x, m.c(0)), m.sub(m.c(2), e), e);
    auto y = m.select(m.lt(a, m.c(0.46875)), small_v, large_v);
    return m.select(m.is_nan(x), x, y);
}

}  // namespace detail

// erfc(x) = 1 - erf(x).
// Algorithm (coefficients: our own Chebyshev fits, tools/fit_vmath_erfc.py, rounded to the
// format; float64 has the same pieces with higher degrees):
//  * |x| < 15/32: 1 - x P(x^2) with one rounding (fma), P ~ erf(x)/x of degree 5 (float64: 8);
//  * a = |x| >= 15/32: erfc(a) = exp(-a^2) G(a), G(a) = erfc(a) exp(a^2) a polynomial in
//    a - mid (exact) on [15/32, 1.25] and [1.25, 2.5], of degree 8 (float64: 15 and 18); above
//    2.5, G(a) = K(s) / a with K a polynomial in s = 1/a^2 of degree 7 (float64: 22) (a
//    polynomial in 1/a would pass the rounding of 1/a on to G one to one: G ~ 1/(a sqrt(pi)));
//    exp(-a^2) is computed from a^2 = hi + lo split exactly by fma (a plain a*a would cost up
//    to 2a^2 ulp(1) relative, ~200 ulp near a = 10), reduced as in exp, and scaled by 2^n only
//    after the product with G, so subnormal results are rounded once. a is clamped to 10.1
//    (erfc(10.06) < 2^-150 rounds to 0; float64: 27.3, erfc(27.23) < 2^-1075). For x < 0,
//    erfc(x) = 2 - erfc(a).
// Special values: erfc(-inf) = 2, erfc(+inf) = 0, erfc(+-0) = 1, NaN -> the same NaN.
// Measured: float32 3.113 ulp (exhaustive; exp(-a^2), G, the product and the division each
// round once), float64 3.188 ulp (3M random inputs in each piece and in [-6, -15/32]).
template <class M> [[gnu::always_inline]] inline auto erfc(M& m, auto x) {
    if (m.is_f64()) return detail::erfc_of(m, x, detail::kErfcF64);
    return detail::erfc_of(m, x, detail::kErfcF32);
}

}  // namespace nnjit::vmath

// Measured maximum error over ALL finite float32 inputs (tests/long/vmath_exhaustive.cpp, run
// 2026-11-22 on g++ 12.2 -O3 -march=native, all 11 sweeps passed; exp, sigmoid, softplus and
// silu rerun 2026-11-28 after exp's rewrite, tanh after its own), in float32 ulps of the exact
// result. The code has no contraction and no branch: for every non-NaN input the bits are the
// same with g++ -O3 -march=native, g++ -O0 and clang 14 -O3 (checked on every 97th pattern);
// only the sign/payload of a NaN coming out of a composed rule can differ (x86 returns the first
// NaN operand of a commutative op, and compilers may swap operands).
//
//   function   max ulp   where                 documented bound (asserted by test_vmath.cpp)
//   exp        1.078     x = -5.1981           4
//   expm1      1.443     x = 0.3635            4
//   log        0.862     x = 0.6991            4
//   log1p      0.930     x = -0.2984           4
//   tanh       2.523     x = 0.06254           4
//   erfc       3.113     x = 4.6316            4
//   sigmoid    2.402     x = -4.157            4   rules::Sigmoid (exp(-|x|), one division)
//   softplus   1.637     x = -1.263            4   rules::Softplus
//   silu       3.231     x = -5.191            4 for x >= ln(FLT_MIN) = -87.337; below, sigmoid(x) is
//                                                subnormal (few significant bits) and x * sigmoid(x)
//                                                scales its rounding by |x| <= 104: absolute error
//                                                1.355e-43 (~97 subnormal ulps) measured, bound 2^-142
//   elu        0.860     x = -0.3475           4   rules::Elu with alpha = 1
//   gelu       3.036     x = -0.9125           4 for x >= -1. Below, the rule rounds its argument
//                                                z = x * (-1/sqrt2) (and the constant) to float32
//                                                before erfc, and erfc turns a relative error d of z
//                                                into about 2 z^2 d = x^2 d of its result: the
//                                                relative error grows like x^2 * 2^-24 (measured:
//                                                ~7 ulp at x = -2, ~50 at -6, ~200 at -13). In
//                                                absolute terms the error below x = -1 is at most
//                                                4.38e-8 (bound 5e-8). Only an erfc that takes x
//                                                itself (an op-rule change) would remove this.
