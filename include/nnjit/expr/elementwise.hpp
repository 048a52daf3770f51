// ElementwiseExpr: one op of the table's elementwise section applied to operands that
// broadcast together (NumPy rules), and the DSL functions and operators that build it.
// Its math is not here: eval() runs rules::R::forward over ScalarMath, d() runs rules::R::vjp,
// and emit() asks the graph factory for the same op, so every engine uses op_rules.hpp.
//
// Static checks: operands must share a dtype (float or double; cast the data, nnjit does not
// promote silently at compile time) and static dimensions must broadcast.
#pragma once

#include <array>
#include <tuple>

#include "nnjit/expr/constant.hpp"
#include "nnjit/graph_ops.hpp"
#include "nnjit/op_rules.hpp"

namespace nnjit {

// The Op of each rule of op_rules.hpp.
template <class R> constexpr Op op_of_rule = Op::Input;  // never used: every rule is listed
#define NNJIT_ELEMENTWISE(Name, name, arity) template <> inline constexpr Op op_of_rule<rules::Name> = Op::Name;
#include "nnjit/ops.def"

template <class R, Expression... X> struct ElementwiseExpr : ExprTag {
    using value_type = first_value_type_t<X...>;
    static constexpr DimsResult shape_rule = broadcast_all<typename X::dims...>();
    // On a mismatch make_elementwise's static_assert speaks; the first operand's dims avoid a
    // second, less readable error here.
    using dims = std::conditional_t<shape_rule.ok, dims_of_t<shape_rule.dims>,
                                    typename std::tuple_element_t<0, std::tuple<X...>>::dims>;
    static constexpr bool loopable = (X::loopable && ...);

    std::tuple<X...> operands;
    double alpha = 0;  // leaky_relu / elu slope

    constexpr ElementwiseExpr(double a, X... x) : operands(std::move(x)...), alpha(a) {}

    Value emit(Graph& g, const Bindings& bindings) const {
        return emit_operands(g, bindings, std::index_sequence_for<X...>{});
    }

private:
    // An index sequence rather than std::apply, whose noexcept traits cost template depth per op.
    template <std::size_t... I>
    Value emit_operands(Graph& g, const Bindings& bindings, std::index_sequence<I...>) const {
        const std::array<Value, sizeof...(X)> in{std::get<I>(operands).emit(g, bindings)...};
        return elementwise(op_of_rule<R>, in, alpha);
    }
};

template <class E> constexpr bool is_elementwise_expr_v = false;
template <class R, class... X> constexpr bool is_elementwise_expr_v<ElementwiseExpr<R, X...>> = true;

// Builds R(x...) after the static checks; numbers become constants of the operands' dtype.
template <class R, class... X> constexpr auto make_elementwise(double alpha, const X&... x) {
    using T = first_value_type_t<X...>;
    static_assert((std::same_as<typename ValueTypeOr<X, T>::type, T> && ...),
                  "elementwise op: operands have different dtypes (float vs double); nnjit does not promote "
                  "at compile time, bind data of one dtype");
    using E = ElementwiseExpr<R, decltype(as_expression<T>(x))...>;
    static_assert(E::shape_rule.ok,
                  "elementwise op: shapes cannot be broadcast together (static dimensions differ and neither is 1)");
    return E(alpha, as_expression<T>(x)...);
}

// ---- unary ----------------------------------------------------------------------------------

#define NNJIT_EXPR_UNARY(fn, Rule) \
    template <Expression X> constexpr auto fn(const X& x) { return make_elementwise<rules::Rule>(0.0, x); }
NNJIT_EXPR_UNARY(neg, Neg)
NNJIT_EXPR_UNARY(exp, Exp)
NNJIT_EXPR_UNARY(log, Log)
NNJIT_EXPR_UNARY(sqrt, Sqrt)
NNJIT_EXPR_UNARY(abs, Abs)
NNJIT_EXPR_UNARY(relu, Relu)
NNJIT_EXPR_UNARY(sigmoid, Sigmoid)
NNJIT_EXPR_UNARY(tanh, Tanh)
NNJIT_EXPR_UNARY(silu, Silu)
NNJIT_EXPR_UNARY(gelu, Gelu)
NNJIT_EXPR_UNARY(softplus, Softplus)
NNJIT_EXPR_UNARY(erfc, Erfc)
NNJIT_EXPR_UNARY(expm1, Expm1)
NNJIT_EXPR_UNARY(log1p, Log1p)
#undef NNJIT_EXPR_UNARY

template <Expression X> constexpr auto operator-(const X& x) { return neg(x); }
template <Expression X> constexpr auto leaky_relu(const X& x, double alpha = 0.01) {
    return make_elementwise<rules::LeakyRelu>(alpha, x);
}
template <Expression X> constexpr auto elu(const X& x, double alpha = 1.0) {
    return make_elementwise<rules::Elu>(alpha, x);
}

// ---- binary and ternary ---------------------------------------------------------------------

#define NNJIT_EXPR_BINARY(fn, Rule)                                     \
    template <class A, class B>                                         \
        requires ExpressionOperands<A, B>                               \
    constexpr auto fn(const A& a, const B& b) {                         \
        return make_elementwise<rules::Rule>(0.0, a, b);                \
    }
NNJIT_EXPR_BINARY(add, Add)
NNJIT_EXPR_BINARY(sub, Sub)
NNJIT_EXPR_BINARY(mul, Mul)
NNJIT_EXPR_BINARY(div, Div)
NNJIT_EXPR_BINARY(operator+, Add)
NNJIT_EXPR_BINARY(operator-, Sub)
NNJIT_EXPR_BINARY(operator*, Mul)
NNJIT_EXPR_BINARY(operator/, Div)
NNJIT_EXPR_BINARY(maximum, Maximum)
NNJIT_EXPR_BINARY(minimum, Minimum)
NNJIT_EXPR_BINARY(greater, Greater)  // 1 where a > b, else 0
NNJIT_EXPR_BINARY(equal, Equal)      // 1 where a == b, else 0
#undef NNJIT_EXPR_BINARY

// Comparisons, as the REPL's and Eigen's arrays': 1 where true, else 0. a >= b is
// greater(a, b) + equal(a, b) (never both 1) and a != b is 1 - equal(a, b), so a NaN compares
// false but for !=. (nnjit::Value has none of these: its == is identity.)
template <class A, class B>
    requires ExpressionOperands<A, B>
constexpr auto operator>(const A& a, const B& b) { return greater(a, b); }
template <class A, class B>
    requires ExpressionOperands<A, B>
constexpr auto operator<(const A& a, const B& b) { return greater(b, a); }
template <class A, class B>
    requires ExpressionOperands<A, B>
constexpr auto operator>=(const A& a, const B& b) { return greater(a, b) + equal(a, b); }
template <class A, class B>
    requires ExpressionOperands<A, B>
constexpr auto operator<=(const A& a, const B& b) { return greater(b, a) + equal(a, b); }
template <class A, class B>
    requires ExpressionOperands<A, B>
constexpr auto operator==(const A& a, const B& b) { return equal(a, b); }
template <class A, class B>
    requires ExpressionOperands<A, B>
constexpr auto operator!=(const A& a, const B& b) { return 1.0 - equal(a, b); }

// clamp(x, lo, hi): as the graph's clamp (graph_ops.hpp), bounds checked alike.
template <Expression X> auto clamp(const X& x, double lo, double hi) {
    check_clamp_bounds(lo, hi);
    return where(lo > x, lo, where(x > hi, hi, x));
}

// prelu(x, a): x where x > 0, else a * x, with a learned slope `a` broadcast against x.
template <Expression X, class A>
    requires ExpressionOperands<X, A>
constexpr auto prelu(const X& x, const A& a) {
    return make_elementwise<rules::Prelu>(0.0, x, a);
}

// where(cond, a, b): a where cond is non-zero, else b.
template <class C, class A, class B>
    requires ExpressionOperands<C, A, B>
constexpr auto where(const C& cond, const A& a, const B& b) {
    return make_elementwise<rules::Where>(0.0, cond, a, b);
}

}  // namespace nnjit
