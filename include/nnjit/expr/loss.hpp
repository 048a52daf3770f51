// LossExpr: the losses of the table, each a scalar built by its graph factory.
//   mse(y, target)                mean((y - target)^2); dims must agree
//   cross_entropy(logits, target) mean over rows of -sum(target * log_softmax(logits)); both 2-D
// Graph-only.
#pragma once

#include "nnjit/expr/expression.hpp"
#include "nnjit/graph_ops.hpp"
#include "nnjit/program.hpp"

namespace nnjit {

enum class LossKind { mse, cross_entropy };

template <LossKind Kind, Expression A, Expression B> struct LossExpr : ExprTag {
    using value_type = typename A::value_type;
    using dims = Dims<>;
    static constexpr bool loopable = false;
    A a;
    B b;
    constexpr LossExpr(A a_, B b_) : a(std::move(a_)), b(std::move(b_)) {}
    Value emit(Graph& g, const Bindings& bindings) const {
        if constexpr (Kind == LossKind::mse) return mse(a.emit(g, bindings), b.emit(g, bindings));
        else return cross_entropy(a.emit(g, bindings), b.emit(g, bindings));
    }
};

template <Expression A, Expression B> constexpr auto mse(const A& y, const B& target) {
    static_assert(std::same_as<typename A::value_type, typename B::value_type>,
                  "mse: prediction and target have different dtypes");
    static_assert(compatible_dims(A::dims::list, B::dims::list), "mse: prediction and target dims differ");
    return LossExpr<LossKind::mse, A, B>(y, target);
}

template <Expression A, Expression B> constexpr auto cross_entropy(const A& logits, const B& target) {
    static_assert(std::same_as<typename A::value_type, typename B::value_type>,
                  "cross_entropy: logits and target have different dtypes");
    static_assert(A::dims::rank == 2, "cross_entropy: logits must be 2-D (rows, classes)");
    static_assert(compatible_dims(A::dims::list, B::dims::list), "cross_entropy: logits and target dims differ");
    return LossExpr<LossKind::cross_entropy, A, B>(logits, target);
}

}  // namespace nnjit
