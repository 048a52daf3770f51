// The differential fuzzer's oracle: for every element of every output of a graph, an interval
// that holds whatever a correct engine may compute, given the documented error bound of each
// primitive operation. Engines are then checked against the interval instead of against each
// other with a fixed tolerance, which no single number could make both sound and sharp: a
// random graph may cancel, overflow or sit on a comparison's edge.
//
// How the interval is made (a sound running error analysis, evaluated in long double):
//  * placeholders and constants are points (the fuzzer feeds float32-representable values, so
//    the float32 and float64 graphs start from the same numbers);
//  * every elementwise op runs its own rule from op_rules.hpp over IntervalMath, so composed
//    rules (sigmoid, softplus, silu, gelu, elu) are bounded primitive by primitive, as the
//    engines compute them;
//  * a primitive widens the exact image of its input intervals by its documented bound, in
//    ulps of the node's dtype (an ulp of v is taken as 2^(1-p)|v| plus one subnormal ulp, which
//    bounds it from above):
//      add sub mul div sqrt      0.5 (IEEE, correctly rounded; no contraction, -ffp-contract=off)
//      exp expm1 log log1p tanh erfc, float32     4   (vmath.hpp, the bound test_vmath asserts)
//      exp expm1 log log1p, float64               2   (vmath.hpp, asserted by test_vmath)
//      tanh, float64                              2.5 (vmath.hpp)
//      erfc, float64                              4   (vmath.hpp)
//      neg abs select comparisons                 exact
//    plus 2^-60 relative for the long double arithmetic of the oracle itself;
//  * sum/mean over n terms and matmul over k terms: |error| <= gamma_(n+1) * sum |x_i| with
//    gamma_m = m u / (1 - m u), u = 2^-p (Higham, Accuracy and Stability of Numerical
//    Algorithms, 2nd ed., (4.4) and (3.13)) - any summation order, accumulation in a wider type
//    included; mean adds three roundings (the scale 1/n, the product, the conversion). Where
//    sum |x_i| (1 + gamma) reaches the largest finite value, a product or partial sum may
//    overflow to either infinity and +inf + -inf is NaN: anything is allowed;
//  * softmax/log_softmax: the same analysis on x - max, exp, the sum, and the final division
//    (two roundings allowed) or subtraction and log;
//  * a result that may exceed the largest finite value may be infinite; a comparison whose
//    operands' intervals overlap may go either way (select takes the union of both sides);
//    a NaN is allowed where some input may be NaN or an op may produce one (0*inf, inf-inf,
//    x/0 where the interval holds 0, log of negatives, ...). A slice of softmax or a sum that
//    may see an infinity is left unchecked (any value or NaN).
// The comparison of two engines is then implied: each lies in the interval, so they differ by
// at most its width.
#pragma once

#include <string>
#include <vector>

#include "nnjit/graph.hpp"
#include "nnjit/program.hpp"

namespace nnjit::fuzz {

// The values an element may take: [lo, hi] (empty when lo > hi), or NaN when `nan`.
struct Interval {
    long double lo = 0, hi = 0;
    bool nan = false;

    bool empty() const { return lo > hi; }
    bool contains(double v) const;
};
std::string describe(const Interval& interval);

// One vector of element intervals (row-major) per output. Throws InternalError for an op the
// oracle does not model.
std::vector<std::vector<Interval>> interval_bounds(const std::vector<Value>& outputs, const Bindings& bindings);

}  // namespace nnjit::fuzz
