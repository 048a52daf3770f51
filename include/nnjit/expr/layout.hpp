// Layout expressions: broadcast_to, reshape and transpose. Targets are static Dims (the shape
// is part of the program text), checked against the operand's static dims at compile time and
// against its actual shape by the graph factory.
//   broadcast_to<Dims<4, 3>>(b)   reshape<Dims<2, 6>>(x)   transpose(x)   transpose<1, 0, 2>(x)
// Graph-only (eval() runs elementwise expressions only).
#pragma once

#include <cstdint>
#include <vector>

#include "nnjit/expr/expression.hpp"
#include "nnjit/graph_ops.hpp"
#include "nnjit/program.hpp"

namespace nnjit {

template <class D> Shape shape_of_static_dims() {
    return Shape(std::vector<std::int64_t>(D::list.dims, D::list.dims + D::rank));
}

template <Expression X, class D> struct BroadcastToExpr : ExprTag {
    using value_type = typename X::value_type;
    using dims = D;
    static constexpr bool loopable = false;
    X x;
    constexpr explicit BroadcastToExpr(X x_) : x(std::move(x_)) {}
    Value emit(Graph& g, const Bindings& b) const { return broadcast_to(x.emit(g, b), shape_of_static_dims<D>()); }
};

template <Expression X, class D> struct ReshapeExpr : ExprTag {
    using value_type = typename X::value_type;
    using dims = D;
    static constexpr bool loopable = false;
    X x;
    constexpr explicit ReshapeExpr(X x_) : x(std::move(x_)) {}
    Value emit(Graph& g, const Bindings& b) const { return reshape(x.emit(g, b), shape_of_static_dims<D>()); }
};

template <Expression X, std::int64_t... Perm> struct TransposeExpr : ExprTag {
    using value_type = typename X::value_type;
    using dims = Dims<X::dims::list.dims[Perm]...>;
    static constexpr bool loopable = false;
    X x;
    constexpr explicit TransposeExpr(X x_) : x(std::move(x_)) {}
    Value emit(Graph& g, const Bindings& b) const {
        return transpose(x.emit(g, b), std::vector<std::int64_t>{Perm...});
    }
};

template <class D, Expression X> constexpr auto broadcast_to(const X& x) {
    static_assert(D::is_static, "broadcast_to: the target Dims must be static");
    static_assert(broadcastable_dims(X::dims::list, D::list),
                  "broadcast_to: the operand's dims cannot be broadcast to the target Dims");
    return BroadcastToExpr<X, D>(x);
}

template <class D, Expression X> constexpr auto reshape(const X& x) {
    static_assert(D::is_static, "reshape: the target Dims must be static");
    static_assert(static_numel(X::dims::list) == Dynamic || static_numel(X::dims::list) == static_numel(D::list),
                  "reshape: the element counts differ");
    return ReshapeExpr<X, D>(x);
}

consteval bool is_permutation(std::initializer_list<std::int64_t> perm) {
    const auto n = static_cast<std::int64_t>(perm.size());
    for (std::int64_t i = 0; i < n; ++i) {
        int seen = 0;
        for (auto p : perm) seen += p == i ? 1 : 0;
        if (seen != 1) return false;
    }
    return true;
}

template <std::int64_t... Perm, Expression X>
    requires(sizeof...(Perm) > 0)
constexpr auto transpose(const X& x) {
    static_assert(sizeof...(Perm) == X::dims::rank && is_permutation({Perm...}),
                  "transpose: the axes given are not a permutation of the operand's axes");
    return TransposeExpr<X, Perm...>(x);
}

// Reverses the axes (the matrix transpose for 2-D).
template <Expression X> constexpr auto transpose(const X& x) {
    return [&]<std::size_t... I>(std::index_sequence<I...>) {
        return TransposeExpr<X, static_cast<std::int64_t>(X::dims::rank - 1 - static_cast<int>(I))...>(x);
    }(std::make_index_sequence<static_cast<std::size_t>(X::dims::rank)>{});
}

}  // namespace nnjit
