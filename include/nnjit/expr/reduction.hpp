// ReductionExpr: sum, mean, max and min, over every axis or over one.
//   sum(x)                          a scalar
//   sum<1>(x), mean<-1, true>(x)    static axis (negative counts from the end), optional
//                                   keepdims: the result's Dims are known and the axis is
//                                   checked at compile time
//   sum(x, axis)                    axis chosen at run time (checked by the graph factory): the
//                                   result has one dimension less, each of them Dynamic
// Graph-only (eval() runs elementwise expressions only).
#pragma once

#include <cstdint>

#include "nnjit/expr/expression.hpp"
#include "nnjit/graph_ops.hpp"
#include "nnjit/program.hpp"

namespace nnjit {

// Dims after reducing `axis`; with axis < 0 (not known yet) every dimension left is Dynamic.
consteval DimList reduced_dims(DimList in, int axis, bool keepdims) {
    DimList out;
    for (int i = 0; i < in.rank; ++i) {
        if (axis < 0) {
            if (i > 0) out.dims[out.rank++] = Dynamic;
        } else if (i != axis) {
            out.dims[out.rank++] = in.dims[i];
        } else if (keepdims) {
            out.dims[out.rank++] = 1;
        }
    }
    return out;
}

template <Op Kind, Expression X, class D> struct ReductionExpr : ExprTag {
    using value_type = typename X::value_type;
    using dims = D;
    static constexpr bool loopable = false;

    X x;
    bool all = true;
    std::int64_t axis = 0;
    bool keepdims = false;

    constexpr ReductionExpr(X x_, bool all_, std::int64_t axis_, bool keepdims_)
        : x(std::move(x_)), all(all_), axis(axis_), keepdims(keepdims_) {}

    Value emit(Graph& g, const Bindings& bindings) const {
        const Value in = x.emit(g, bindings);
        if constexpr (Kind == Op::Sum) return all ? sum(in, keepdims) : sum(in, axis, keepdims);
        else if constexpr (Kind == Op::Mean) return all ? mean(in, keepdims) : mean(in, axis, keepdims);
        else if constexpr (Kind == Op::Max) return all ? max(in, keepdims) : max(in, axis, keepdims);
        else return all ? min(in, keepdims) : min(in, axis, keepdims);
    }
};

namespace detail {
template <Op Kind, std::int64_t Axis, bool KeepDims, Expression X> constexpr auto static_reduce(const X& x) {
    constexpr int rank = X::dims::rank;
    static_assert(Axis >= -rank && Axis < rank, "sum/mean/max/min: axis out of range for the operand's rank");
    constexpr int axis = static_cast<int>(Axis < 0 ? Axis + rank : Axis);
    constexpr DimList out = reduced_dims(X::dims::list, axis, KeepDims);
    using D = dims_of_t<out>;
    return ReductionExpr<Kind, X, D>(x, false, axis, KeepDims);
}
template <Op Kind, Expression X> constexpr auto runtime_reduce(const X& x, std::int64_t axis) {
    static_assert(X::dims::rank > 0, "sum/mean/max/min: a scalar has no axis to reduce");
    constexpr DimList out = reduced_dims(X::dims::list, -1, false);
    using D = dims_of_t<out>;
    return ReductionExpr<Kind, X, D>(x, false, axis, false);
}
}  // namespace detail

// fn(x): over every axis; fn<Axis, KeepDims>(x): a static axis; fn(x, axis): a run-time one.
#define NNJIT_EXPR_REDUCTION(fn, Kind)                                                          \
    template <Expression X> constexpr auto fn(const X& x) {                                     \
        return ReductionExpr<Kind, X, Dims<>>(x, true, 0, false);                               \
    }                                                                                           \
    template <std::int64_t Axis, bool KeepDims = false, Expression X> constexpr auto fn(const X& x) { \
        return detail::static_reduce<Kind, Axis, KeepDims>(x);                                  \
    }                                                                                           \
    template <Expression X> constexpr auto fn(const X& x, std::int64_t axis) {                  \
        return detail::runtime_reduce<Kind>(x, axis);                                           \
    }
NNJIT_EXPR_REDUCTION(sum, Op::Sum)
NNJIT_EXPR_REDUCTION(mean, Op::Mean)
NNJIT_EXPR_REDUCTION(max, Op::Max)
NNJIT_EXPR_REDUCTION(min, Op::Min)
#undef NNJIT_EXPR_REDUCTION

}  // namespace nnjit
