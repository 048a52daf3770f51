// MatMulExpr: the 2-D matrix product. Static checks: both operands 2-D, inner dimensions equal
// where both are static, same dtype. Graph-only: eval() and d() do not take it (run it with
// to_graph(); its gradient comes from nnjit::grad).
#pragma once

#include "nnjit/expr/expression.hpp"
#include "nnjit/graph_ops.hpp"
#include "nnjit/program.hpp"

namespace nnjit {

template <Expression A, Expression B> struct MatMulExpr : ExprTag {
    using value_type = typename A::value_type;
    static constexpr bool two_d = A::dims::rank == 2 && B::dims::rank == 2;
    static constexpr bool inner_ok = !two_d || A::dims::list.dims[1] == Dynamic ||
                                     B::dims::list.dims[0] == Dynamic ||
                                     A::dims::list.dims[1] == B::dims::list.dims[0];
    using dims = Dims<A::dims::list.dims[0], (two_d ? B::dims::list.dims[1] : Dynamic)>;
    static constexpr bool loopable = false;

    A a;
    B b;

    constexpr MatMulExpr(A a_, B b_) : a(std::move(a_)), b(std::move(b_)) {}
    Value emit(Graph& g, const Bindings& bindings) const { return matmul(a.emit(g, bindings), b.emit(g, bindings)); }
};

template <Expression A, Expression B> constexpr auto matmul(const A& a, const B& b) {
    using E = MatMulExpr<A, B>;
    static_assert(std::same_as<typename A::value_type, typename B::value_type>,
                  "matmul: operands have different dtypes (float vs double)");
    static_assert(E::two_d, "matmul: operands must be 2-D");
    static_assert(E::inner_ok, "matmul: inner dimensions differ (a is (m, k), b must be (k, n))");
    return E(a, b);
}

}  // namespace nnjit
