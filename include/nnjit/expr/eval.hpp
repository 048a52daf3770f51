// eval(): the compile-time engine ("et" in the benchmarks). An elementwise expression runs as
// ONE C++ loop over its output, with no temporaries: each element is computed by the rules of
// op_rules.hpp over ScalarMath<T>, the very definitions the interpreter's kernels use, inlined
// into one loop body that g++ vectorises.
//
//   Tensor y = eval(relu(x * 2.0f + b), x = tx, b = tb);
//   eval_into(e, bindings, out);   // into a caller-owned contiguous tensor, nothing allocated
//
// Broadcasting: operands of lower rank broadcast as NumPy says. The vectorised path covers what
// networks do: operands of the output's shape, scalars, and operands that equal the output's
// trailing dimensions (a bias row), all contiguous. Anything else (a size-1 dimension
// stretched, a transposed view) takes a general strided loop, correct but not vectorised.
//
// Flags for the vectorised loop (g++ 12.2, checked with -fopt-info-vec on relu/bias, the
// sigmoid*relu chain and its d(), exp, log, tanh, sqrt, silu, elu, erfc, gelu and its d()):
//   -O3              required: at -O2 g++ 12's "very cheap" cost model vectorises none of them
//   -march=native    the vector width (64-byte vectors on AVX-512 hosts)
//   -fno-math-errno  required for sqrt (otherwise a call that may set errno)
//   -ffp-contract=off not for speed: no a*b+c fusion, so eval() equals the interpreter bitwise
//   -fno-trapping-math harmless and set by nnjit_options; vmath's current exp/log no longer
//                    need it (they did when the float->int conversion blocked vectorisation)
// The rules are always_inline (op_rules.hpp): before, g++ kept gelu's and erfc's out of line,
// a call per element, and the loop was not vectorised (gelu at 64K floats: 1.2 ms, now ~0.18).
#pragma once

#include <array>
#include <cstdint>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "nnjit/error.hpp"
#include "nnjit/expr/constant.hpp"
#include "nnjit/expr/elementwise.hpp"
#include "nnjit/expr/placeholder.hpp"
#include "nnjit/expr/shaped_like.hpp"
#include "nnjit/op_rules.hpp"
#include "nnjit/program.hpp"
#include "nnjit/scalar_math.hpp"

namespace nnjit {
namespace detail {

// What eval learns from the bindings before the loop: the leaves' tensors and the output shape.
class EvalContext {
public:
    explicit EvalContext(const Bindings& bindings) : bindings_(bindings) {}

    const Tensor& bind(std::string_view name, std::string_view kind) {
        const auto it = bindings_.find(name);
        if (it == bindings_.end()) throw UserError(fmt::format("eval: {} '{}' is not bound to a tensor", kind, name));
        leaves_.push_back(&it->second);
        return it->second;
    }

    // The broadcast of every leaf's shape; throws UserError when they do not broadcast.
    Shape output_shape() const {
        Shape out;
        for (const Tensor* t : leaves_) {
            try {
                out = broadcast_shapes(out, t->shape(), "eval");
            } catch (const UserError&) {
                std::vector<std::string> shapes;
                for (const Tensor* l : leaves_) shapes.push_back(fmt::format("{}", l->shape()));
                throw UserError(fmt::format("eval: the bound tensors' shapes {} cannot be broadcast together",
                                            fmt::join(shapes, ", ")));
            }
        }
        return out;
    }

    // Length of the inner loop of the vectorised path, or 0 when the leaves need the strided one.
    std::int64_t inner_length(const Shape& out) const {
        const int rank = out.rank();
        int low = -1;
        for (const Tensor* t : leaves_) {
            const int r = t->rank();
            if (r == 0) continue;
            if (!t->is_contiguous()) return 0;
            if (r == rank) {
                if (t->shape() != out) return 0;
                continue;
            }
            if (low >= 0 && low != r) return 0;
            low = r;
            for (int i = 0; i < r; ++i)
                if (t->shape()[i] != out[rank - r + i]) return 0;
        }
        std::int64_t inner = 1;
        for (int i = low < 0 ? 0 : rank - low; i < rank; ++i) inner *= out[i];
        return inner;
    }

private:
    const Bindings& bindings_;
    std::vector<const Tensor*> leaves_;
};

// Mirrors an expression node: holds what the loop reads (pointers, constants) and computes one
// element. load<R>(base, i) is the vectorised path: element base + i of an output of rank R
// whose inner loop has length n (base a multiple of n); load_at<R>(index) is the strided one.
template <class E> struct Evaluator;

template <PlaceholderKind K, FixedString N, class T, class D> struct Evaluator<Placeholder<K, N, T, D>> {
    using P = Placeholder<K, N, T, D>;
    static constexpr int rank = D::rank;
    const Tensor* tensor;
    const T* p;
    std::array<std::int64_t, Shape::kMaxRank> strides{};  // per output axis, 0 where broadcast

    Evaluator(const P&, EvalContext& ctx) : tensor(&ctx.bind(P::name(), P::kind_name())) {
        P::check(*tensor);
        p = tensor->template data<T>();
    }
    void prepare(const Shape& out) {
        const int r_out = out.rank();
        for (int d = 0; d < r_out; ++d) {
            const int j = d - (r_out - rank);
            strides[static_cast<std::size_t>(d)] =
                (j < 0 || tensor->shape()[j] != out[d]) ? 0 : tensor->strides()[static_cast<std::size_t>(j)];
        }
    }
    // A leaf of the output's rank is read at base + i, a trailing-dims leaf at i, a scalar at 0.
    template <int R> [[gnu::always_inline]] T load(std::int64_t base, std::int64_t i) const {
        if constexpr (rank == R) return p[base + i];
        else if constexpr (rank == 0) return p[0];
        else return p[i];
    }
    template <int R> [[gnu::always_inline]] T load_at(const std::int64_t* index) const {
        std::int64_t offset = 0;
        for (int d = 0; d < R; ++d) offset += index[d] * strides[static_cast<std::size_t>(d)];
        return p[offset];
    }
};

template <class T> struct Evaluator<ConstantExpr<T>> {
    T value;
    Evaluator(const ConstantExpr<T>& c, EvalContext&) : value(c.value) {}
    void prepare(const Shape&) {}
    template <int R> [[gnu::always_inline]] T load(std::int64_t, std::int64_t) const { return value; }
    template <int R> [[gnu::always_inline]] T load_at(const std::int64_t*) const { return value; }
};

// The evaluators of an op's operands (the table's arities are 1 to 3). Plain members rather
// than a std::tuple: tuple's constructors cost several template levels per op, and an
// expression 200 ops deep would exceed g++'s instantiation depth of 900.
template <class... X> struct EvalOperands;
template <class A> struct EvalOperands<A> {
    Evaluator<A> a;
    EvalOperands(const std::tuple<A>& x, EvalContext& ctx) : a(std::get<0>(x), ctx) {}
    void prepare(const Shape& out) { a.prepare(out); }
};
template <class A, class B> struct EvalOperands<A, B> {
    Evaluator<A> a;
    Evaluator<B> b;
    EvalOperands(const std::tuple<A, B>& x, EvalContext& ctx) : a(std::get<0>(x), ctx), b(std::get<1>(x), ctx) {}
    void prepare(const Shape& out) {
        a.prepare(out);
        b.prepare(out);
    }
};
template <class A, class B, class C> struct EvalOperands<A, B, C> {
    Evaluator<A> a;
    Evaluator<B> b;
    Evaluator<C> c;
    EvalOperands(const std::tuple<A, B, C>& x, EvalContext& ctx)
        : a(std::get<0>(x), ctx), b(std::get<1>(x), ctx), c(std::get<2>(x), ctx) {}
    void prepare(const Shape& out) {
        a.prepare(out);
        b.prepare(out);
        c.prepare(out);
    }
};

template <class R, class... X> struct Evaluator<ElementwiseExpr<R, X...>> {
    using T = typename ElementwiseExpr<R, X...>::value_type;
    EvalOperands<X...> in;
    double alpha;

    Evaluator(const ElementwiseExpr<R, X...>& e, EvalContext& ctx) : in(e.operands, ctx), alpha(e.alpha) {}
    void prepare(const Shape& out) { in.prepare(out); }
    template <class... V> [[gnu::always_inline]] T rule(V... v) const {
        ScalarMath<T> m;
        if constexpr (rules::takes_alpha<R>) return R::forward(m, v..., alpha);
        else return R::forward(m, v...);
    }
    template <int Rank> [[gnu::always_inline]] T load(std::int64_t base, std::int64_t i) const {
        if constexpr (sizeof...(X) == 1) return rule(in.a.template load<Rank>(base, i));
        else if constexpr (sizeof...(X) == 2)
            return rule(in.a.template load<Rank>(base, i), in.b.template load<Rank>(base, i));
        else
            return rule(in.a.template load<Rank>(base, i), in.b.template load<Rank>(base, i),
                        in.c.template load<Rank>(base, i));
    }
    template <int Rank> [[gnu::always_inline]] T load_at(const std::int64_t* index) const {
        if constexpr (sizeof...(X) == 1) return rule(in.a.template load_at<Rank>(index));
        else if constexpr (sizeof...(X) == 2)
            return rule(in.a.template load_at<Rank>(index), in.b.template load_at<Rank>(index));
        else
            return rule(in.a.template load_at<Rank>(index), in.b.template load_at<Rank>(index),
                        in.c.template load_at<Rank>(index));
    }
};

template <class V, class Ref> struct Evaluator<ShapedLikeExpr<V, Ref>> {
    using T = typename V::value_type;
    Evaluator<V> value;
    Evaluator<Ref> ref;  // only its leaves count, for the output shape
    Evaluator(const ShapedLikeExpr<V, Ref>& e, EvalContext& ctx) : value(e.value, ctx), ref(e.ref, ctx) {}
    void prepare(const Shape& out) {
        value.prepare(out);
        ref.prepare(out);
    }
    template <int R> [[gnu::always_inline]] T load(std::int64_t base, std::int64_t i) const {
        return value.template load<R>(base, i);
    }
    template <int R> [[gnu::always_inline]] T load_at(const std::int64_t* index) const {
        return value.template load_at<R>(index);
    }
};

// The vectorised loop: a copy of the evaluator lives on the stack so that g++ knows the
// stores to `out` cannot change the pointers it reads through.
template <int R, class Ev, class T>
void eval_contiguous(const Ev& evaluator, T* __restrict out, std::int64_t rows, std::int64_t inner) {
    const Ev ev = evaluator;
    for (std::int64_t r = 0; r < rows; ++r) {
        const std::int64_t base = r * inner;
        T* __restrict o = out + base;
        for (std::int64_t i = 0; i < inner; ++i) o[i] = ev.template load<R>(base, i);
    }
}

template <int R, class Ev, class T> void eval_strided(const Ev& ev, T* out, const Shape& shape) {
    const std::int64_t n = shape.numel();
    std::array<std::int64_t, Shape::kMaxRank> index{};
    for (std::int64_t k = 0; k < n; ++k) {
        out[k] = ev.template load_at<R>(index.data());
        for (int d = R - 1; d >= 0; --d) {
            if (++index[static_cast<std::size_t>(d)] < shape[d]) break;
            index[static_cast<std::size_t>(d)] = 0;
        }
    }
}

template <class E> void check_loopable() {
    static_assert(E::loopable,
                  "eval/d: only elementwise expressions (placeholders, constants, elementwise ops) run as one "
                  "loop; run matmul, reductions, layout ops, softmax and losses through to_graph()");
}

template <Expression E> void eval_with(const E& e, const Bindings& bindings, Tensor* out_or_null, Tensor& result) {
    using T = typename E::value_type;
    constexpr int R = E::dims::rank;
    EvalContext ctx(bindings);
    Evaluator<E> ev(e, ctx);
    const Shape shape = ctx.output_shape();
    if (shape.rank() != R)
        throw InternalError(fmt::format("eval: output rank {} differs from the static rank {}", shape.rank(), R));
    if (out_or_null) {
        Tensor& out = *out_or_null;
        if (out.dtype() != dtype_of<T>() || out.shape() != shape || !out.is_contiguous())
            throw UserError(fmt::format("eval_into: the output must be a contiguous {} tensor of shape {}, got {} {}",
                                        dtype_of<T>(), shape, out.dtype(), out.shape()));
        result = out;
    } else {
        result = Tensor::empty(dtype_of<T>(), shape);
    }
    const std::int64_t n = shape.numel();
    if (n == 0) return;
    T* out = result.template data<T>();
    if (const std::int64_t inner = ctx.inner_length(shape); inner > 0) {
        eval_contiguous<R>(ev, out, n / inner, inner);
    } else {
        ev.prepare(shape);
        eval_strided<R>(ev, out, shape);
    }
}

}  // namespace detail

template <Expression E> Tensor eval(const E& e, const Bindings& bindings) {
    detail::check_loopable<E>();
    Tensor result;
    if constexpr (E::loopable) detail::eval_with(e, bindings, nullptr, result);
    return result;
}

// eval(e, x = tx, w = tw): the placeholders bound in place.
template <Expression E, std::same_as<NamedTensor>... B> Tensor eval(const E& e, const B&... bound) {
    Bindings bindings;
    (bindings.insert_or_assign(bound.name, bound.tensor), ...);
    return eval(e, bindings);
}

// Writes into `out` (contiguous, of the expression's dtype and output shape): no allocation.
template <Expression E> void eval_into(const E& e, const Bindings& bindings, Tensor& out) {
    detail::check_loopable<E>();
    Tensor result;
    if constexpr (E::loopable) detail::eval_with(e, bindings, &out, result);
}

}  // namespace nnjit
