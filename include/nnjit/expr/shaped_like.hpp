// ShapedLikeExpr: a value broadcast to the shape of a reference expression. d() wraps its result
// in one, so that d(2 * x, x) is 2 at every element of x rather than a scalar. The reference is
// never computed, only its shape (its placeholders) counts.
#pragma once

#include "nnjit/expr/expression.hpp"
#include "nnjit/graph_ops.hpp"
#include "nnjit/program.hpp"

namespace nnjit {

template <Expression V, Expression Ref> struct ShapedLikeExpr : ExprTag {
    using value_type = typename V::value_type;
    static constexpr DimsResult shape_rule = broadcast_all<typename V::dims, typename Ref::dims>();
    using dims = dims_of_t<shape_rule.dims>;
    static constexpr bool loopable = V::loopable && Ref::loopable;

    V value;
    Ref ref;

    constexpr ShapedLikeExpr(V v, Ref r) : value(std::move(v)), ref(std::move(r)) {}

    Value emit(Graph& g, const Bindings& bindings) const {
        const Value v = value.emit(g, bindings);
        const Value r = ref.emit(g, bindings);
        return broadcast_to(v, broadcast_shapes(v.shape(), r.shape(), "d"));
    }
};

template <class E> constexpr bool is_shaped_like_v = false;
template <class V, class R> constexpr bool is_shaped_like_v<ShapedLikeExpr<V, R>> = true;

}  // namespace nnjit
