// The Expression concept: what every node of the compile-time DSL is. An expression is a small
// value (it holds its operands by value, so `auto e = relu(x + 1);` never dangles) with
//   value_type     float or double
//   dims           its Dims (static shape, Dynamic where unknown)
//   loopable       true when it is elementwise all the way down, so eval() and d() accept it
//   emit(g, b)     adds its nodes to a Graph through the checking factories of graph_ops.hpp
// Constraining the DSL's functions on this concept is what lets them share namespace nnjit with
// the runtime functions of the same names over nnjit::Value.
#pragma once

#include <concepts>
#include <type_traits>

#include "nnjit/dtype.hpp"
#include "nnjit/expr/dims.hpp"

namespace nnjit {

// Base of every expression node; carries nothing.
struct ExprTag {};

template <class E>
concept Expression = std::derived_from<std::remove_cvref_t<E>, ExprTag>;

// A plain number next to an expression: it becomes a constant of the expression's dtype.
template <class S>
concept ScalarOperand = std::is_arithmetic_v<std::remove_cvref_t<S>>;

// Operands of a DSL function: expressions, and numbers as long as one operand is an expression.
template <class... X>
concept ExpressionOperands =
    ((Expression<X> || ScalarOperand<X>) && ...) && (Expression<X> || ...);

template <class T>
concept ElementType = std::same_as<T, float> || std::same_as<T, double>;

// The value type of the first expression among X.
template <class... X> struct FirstValueType;
template <class X, class... Rest> struct FirstValueType<X, Rest...> {
    using type = typename FirstValueType<Rest...>::type;
};
template <Expression X, class... Rest> struct FirstValueType<X, Rest...> {
    using type = typename std::remove_cvref_t<X>::value_type;
};
template <class... X> using first_value_type_t = typename FirstValueType<X...>::type;

// X's value type if X is an expression, else T (a number takes the dtype it meets).
template <class X, class T> struct ValueTypeOr {
    using type = T;
};
template <Expression X, class T> struct ValueTypeOr<X, T> {
    using type = typename std::remove_cvref_t<X>::value_type;
};

}  // namespace nnjit
