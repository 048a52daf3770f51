// d(e, x): the derivative of an elementwise expression with respect to a placeholder, itself an
// expression (so it can be evaluated with eval(), emitted with to_graph(), differentiated again).
//
// It is built from the same rules as the graph autodiff: for an elementwise op the Jacobian is
// diagonal, so the rule's vector-Jacobian product with gy = d(operand) is the Jacobian-vector
// product, and forward mode is just the chain rule over the expression tree:
//     d(R(u1..un), x) = sum_i vjp_R(u1..un, y, gy = d(ui, x))[i]
// run over ExprMath, a Math whose "numbers" are expressions. Terms whose operand does not
// depend on x are dropped at compile time.
//
// Meaning with broadcasting: d(e, x) is the elementwise partial derivative, with e's shape:
// where x has e's shape it equals nnjit::grad(sum(e), x); where x was broadcast, grad is the
// sum of d(e, x) over the broadcast axes.
#pragma once

#include <tuple>
#include <type_traits>
#include <utility>

#include "nnjit/expr/constant.hpp"
#include "nnjit/expr/elementwise.hpp"
#include "nnjit/expr/placeholder.hpp"
#include "nnjit/expr/shaped_like.hpp"
#include "nnjit/op_rules.hpp"

namespace nnjit {
namespace detail {

// The Math of op_rules.hpp over expressions. The VJP rules use only these operations; the
// comparisons and selects map onto the table's greater / equal / where (0/1 masks).
template <ElementType T> struct ExprMath {
    static constexpr ConstantExpr<T> c(double v) { return ConstantExpr<T>(static_cast<T>(v)); }
    static constexpr auto add(auto a, auto b) { return make_elementwise<rules::Add>(0.0, a, b); }
    static constexpr auto sub(auto a, auto b) { return make_elementwise<rules::Sub>(0.0, a, b); }
    static constexpr auto mul(auto a, auto b) { return make_elementwise<rules::Mul>(0.0, a, b); }
    static constexpr auto div(auto a, auto b) { return make_elementwise<rules::Div>(0.0, a, b); }
    static constexpr auto neg(auto a) { return make_elementwise<rules::Neg>(0.0, a); }
    static constexpr auto exp(auto a) { return make_elementwise<rules::Exp>(0.0, a); }
    static constexpr auto gt(auto a, auto b) { return make_elementwise<rules::Greater>(0.0, a, b); }
    static constexpr auto lt(auto a, auto b) { return make_elementwise<rules::Greater>(0.0, b, a); }
    static constexpr auto eq(auto a, auto b) { return make_elementwise<rules::Equal>(0.0, a, b); }
    static constexpr auto select(auto mask, auto a, auto b) { return make_elementwise<rules::Where>(0.0, mask, a, b); }
    // rules::apply<R> asks for whole ops (sigmoid inside silu's rule) by this name.
    template <class R, class... X> static constexpr auto make(X... x) { return make_elementwise<R>(0.0, x...); }
};

// "Does not depend on the variable": dropped from sums, never built into an expression.
struct Zero {};

template <class A, class B> constexpr auto add_terms(const A& a, const B& b) {
    if constexpr (std::is_same_v<A, Zero>) return b;
    else if constexpr (std::is_same_v<B, Zero>) return a;
    else return make_elementwise<rules::Add>(0.0, a, b);
}

template <class Var, class E> constexpr auto derivative(const E& e, const Var& var);

// Term i of the chain rule for e = R(u...): the rule's VJP with gy = d(u_i).
template <std::size_t I, class Var, class R, class... X>
constexpr auto chain_term(const ElementwiseExpr<R, X...>& e, const Var& var) {
    const auto du = derivative(std::get<I>(e.operands), var);
    if constexpr (std::is_same_v<std::remove_cvref_t<decltype(du)>, Zero>) {
        return Zero{};
    } else {
        ExprMath<typename ElementwiseExpr<R, X...>::value_type> m;
        const auto grads = std::apply(
            [&](const auto&... u) {
                if constexpr (rules::takes_alpha<R>) return R::vjp(m, e.alpha, u..., e, du);
                else return R::vjp(m, u..., e, du);
            },
            e.operands);
        using G = std::remove_cvref_t<std::tuple_element_t<I, std::remove_cvref_t<decltype(grads)>>>;
        if constexpr (std::is_same_v<G, rules::NoGrad>) return Zero{};
        else return std::get<I>(grads);
    }
}

template <class Var, class E> constexpr auto derivative(const E& e, const Var& var) {
    if constexpr (is_placeholder_v<E>) {
        if constexpr (std::is_same_v<E, Var>) return ConstantExpr<typename E::value_type>(1);
        else return Zero{};
    } else if constexpr (is_elementwise_expr_v<E>) {
        return [&]<std::size_t... I>(std::index_sequence<I...>) {
            Zero zero;
            return [&](const auto&... terms) {
                auto sum = [](const auto& self, const auto& acc, const auto& first, const auto&... rest) {
                    if constexpr (sizeof...(rest) == 0) return add_terms(acc, first);
                    else return self(self, add_terms(acc, first), rest...);
                };
                return sum(sum, zero, terms...);
            }(chain_term<I>(e, var)...);
        }(std::make_index_sequence<std::tuple_size_v<decltype(e.operands)>>{});
    } else if constexpr (is_shaped_like_v<E>) {
        return derivative(e.value, var);
    } else {
        return Zero{};  // constants
    }
}

}  // namespace detail

// d(e, x): de/dx element by element, an expression with e's shape (see the top of this file).
template <Expression E, class Var>
    requires is_placeholder_v<Var>
constexpr auto d(const E& e, const Var& var) {
    static_assert(E::loopable,
                  "d: only elementwise expressions have a compile-time derivative; differentiate matmul, "
                  "reductions and losses on the graph with nnjit::grad");
    if constexpr (E::loopable) {
        using T = typename E::value_type;
        const auto de = detail::derivative(e, var);
        if constexpr (std::is_same_v<std::remove_cvref_t<decltype(de)>, detail::Zero>)
            return ShapedLikeExpr(ConstantExpr<T>(0), e);
        else
            return ShapedLikeExpr(de, e);
    }
}

}  // namespace nnjit
