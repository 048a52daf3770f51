// ConstantExpr: a scalar folded into the expression (the 1 of `x + 1`), of the dtype of the
// expression it meets. Rank 0, so it broadcasts against anything.
#pragma once

#include "nnjit/expr/expression.hpp"
#include "nnjit/graph.hpp"
#include "nnjit/program.hpp"

namespace nnjit {

template <ElementType T> struct ConstantExpr : ExprTag {
    using value_type = T;
    using dims = Dims<>;
    static constexpr bool loopable = true;

    T value{};

    constexpr ConstantExpr() = default;
    constexpr explicit ConstantExpr(T v) : value(v) {}

    Value emit(Graph& g, const Bindings&) const { return g.constant(static_cast<double>(value), dtype_of<T>()); }
};

// constant(0.5f): a scalar expression of that dtype.
template <ElementType T> constexpr ConstantExpr<T> constant(T value) { return ConstantExpr<T>(value); }

// An operand as an expression: numbers become constants of dtype T.
template <ElementType T, class X> constexpr auto as_expression(const X& x) {
    if constexpr (Expression<X>) return x;
    else return ConstantExpr<T>(static_cast<T>(x));
}

}  // namespace nnjit
