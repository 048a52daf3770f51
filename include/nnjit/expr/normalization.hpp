// NormalizationExpr: softmax and log_softmax along an axis (default the last). The shape is the
// operand's; the axis is checked by the graph factory. Graph-only.
#pragma once

#include <cstdint>

#include "nnjit/expr/expression.hpp"
#include "nnjit/graph_ops.hpp"
#include "nnjit/program.hpp"

namespace nnjit {

template <Op Kind, Expression X> struct NormalizationExpr : ExprTag {
    using value_type = typename X::value_type;
    using dims = typename X::dims;
    static constexpr bool loopable = false;
    X x;
    std::int64_t axis = -1;
    constexpr NormalizationExpr(X x_, std::int64_t axis_) : x(std::move(x_)), axis(axis_) {}
    Value emit(Graph& g, const Bindings& b) const {
        if constexpr (Kind == Op::Softmax) return softmax(x.emit(g, b), axis);
        else return log_softmax(x.emit(g, b), axis);
    }
};

template <Expression X> constexpr auto softmax(const X& x, std::int64_t axis = -1) {
    static_assert(X::dims::rank > 0, "softmax: the operand must have at least one dimension");
    return NormalizationExpr<Op::Softmax, X>(x, axis);
}
template <Expression X> constexpr auto log_softmax(const X& x, std::int64_t axis = -1) {
    static_assert(X::dims::rank > 0, "log_softmax: the operand must have at least one dimension");
    return NormalizationExpr<Op::LogSoftmax, X>(x, axis);
}

}  // namespace nnjit
