// The Math of op_rules.hpp over plain numbers (float or double): what the interpreter and the
// compile-time evaluator run. Written with branch-free selects so that g++ vectorises loops
// over it (compile with -fno-trapping-math -fno-math-errno, and -ffp-contract=off so that the
// result does not depend on whether a * b + c was fused).
#pragma once

#include <cmath>

namespace nnjit {

template <class T> struct ScalarMath {
    using Value = T;
    using Mask = bool;

    static T c(double v) { return static_cast<T>(v); }
    static T add(T a, T b) { return a + b; }
    static T sub(T a, T b) { return a - b; }
    static T mul(T a, T b) { return a * b; }
    static T div(T a, T b) { return a / b; }
    static T neg(T a) { return -a; }
    static T sqrt(T a) { return std::sqrt(a); }
    static T abs(T a) { return std::fabs(a); }
    static T exp(T a) { return std::exp(a); }
    static T expm1(T a) { return std::expm1(a); }
    static T log(T a) { return std::log(a); }
    static T log1p(T a) { return std::log1p(a); }
    static T tanh(T a) { return std::tanh(a); }
    static T erfc(T a) { return std::erfc(a); }
    static bool gt(T a, T b) { return a > b; }
    static bool lt(T a, T b) { return a < b; }
    static bool eq(T a, T b) { return a == b; }
    static bool is_nan(T a) { return a != a; }
    static bool mask_or(bool p, bool q) { return p | q; }
    static T select(bool mask, T a, T b) { return mask ? a : b; }
};

}  // namespace nnjit
