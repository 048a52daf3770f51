// The checking factories of graph_ops.hpp: shape and dtype rules live here.
#include "nnjit/graph_ops.hpp"

#include <algorithm>
#include <numeric>

#include "nnjit/error.hpp"

namespace nnjit {
namespace {

Graph& same_graph(std::span<const Value> values, std::string_view op) {
    for (const Value& v : values)
        if (!v) throw UserError(fmt::format("{}: an operand is an empty Value", op));
    Graph& g = values.front().graph();
    for (const Value& v : values)
        if (&v.graph() != &g) throw UserError(fmt::format("{}: operands belong to different graphs", op));
    return g;
}

std::string shapes_of(std::span<const Value> values) {
    std::vector<std::string> parts;
    for (const Value& v : values) parts.push_back(fmt::format("{}", v.shape()));
    return fmt::format("{}", fmt::join(parts, " and "));
}

Value unary(Op op, Value x, Attrs attrs = {}) {
    Graph& g = same_graph({&x, 1}, op_name(op));
    return Value(g, g.make(op, x.dtype(), x.shape(), {x.node()}, std::move(attrs)));
}

Value constant_like(Value like, double v) { return like.graph().constant(v, like.dtype()); }

std::vector<std::int64_t> normalized_axes(const Shape& shape, std::vector<std::int64_t> axes, std::string_view op) {
    for (auto& a : axes) a = shape.normalize_axis(a, op);
    std::sort(axes.begin(), axes.end());
    if (std::adjacent_find(axes.begin(), axes.end()) != axes.end())
        throw UserError(fmt::format("{}: axes ({}) repeat an axis", op, fmt::join(axes, ", ")));
    return axes;
}

Value reduce(Op op, Value x, std::vector<std::int64_t> axes, bool keepdims, bool all) {
    Graph& g = same_graph({&x, 1}, op_name(op));
    const Shape& in = x.shape();
    if (all) {
        axes.resize(static_cast<std::size_t>(in.rank()));
        std::iota(axes.begin(), axes.end(), 0);
    } else {
        axes = normalized_axes(in, std::move(axes), op_name(op));
    }
    std::vector<std::int64_t> dims;
    for (int i = 0; i < in.rank(); ++i) {
        const bool reduced = std::find(axes.begin(), axes.end(), i) != axes.end();
        if (reduced && in[i] == 0 && (op == Op::Max || op == Op::Min))
            throw UserError(fmt::format("{}: axis {} of shape {} is empty: no element to take the {} of", op_name(op),
                                        i, in, op_name(op)));
        if (!reduced) dims.push_back(in[i]);
        else if (keepdims) dims.push_back(1);
    }
    Attrs attrs;
    attrs.axes = std::move(axes);
    attrs.keepdims = keepdims;
    return Value(g, g.make(op, x.dtype(), Shape(std::move(dims)), {x.node()}, std::move(attrs)));
}

Value normalize(Op op, Value x, std::int64_t axis) {
    Attrs attrs;
    attrs.axes = {x.shape().normalize_axis(axis, op_name(op))};
    return unary(op, x, std::move(attrs));
}

}  // namespace

Value elementwise(Op op, std::span<const Value> inputs, double alpha) {
    const OpInfo& info = op_info(op);
    if (info.kind != OpKind::Elementwise) throw InternalError(fmt::format("{} is not elementwise", info.name));
    if (static_cast<int>(inputs.size()) != info.arity)
        throw UserError(fmt::format("{}: takes {} operand{}, got {}", info.name, info.arity, info.arity == 1 ? "" : "s",
                                    inputs.size()));
    Graph& g = same_graph(inputs, info.name);
    DType dtype = inputs.front().dtype();
    Shape shape = inputs.front().shape();
    for (const Value& v : inputs.subspan(1)) {
        dtype = promote(dtype, v.dtype());
        try {
            shape = broadcast_shapes(shape, v.shape(), info.name);
        } catch (const UserError&) {
            throw UserError(fmt::format("{}: shapes {} cannot be broadcast together", info.name, shapes_of(inputs)));
        }
    }
    std::vector<const Node*> nodes;
    for (Value v : inputs) {
        if (v.dtype() != dtype) v = cast(v, dtype);
        if (v.shape() != shape) v = broadcast_to(v, shape);
        nodes.push_back(v.node());
    }
    Attrs attrs;
    attrs.alpha = alpha;
    return Value(g, g.make(op, dtype, std::move(shape), std::move(nodes), std::move(attrs)));
}

namespace {
Value ew(Op op, std::initializer_list<Value> inputs, double alpha = 0) {
    return elementwise(op, std::span<const Value>(inputs.begin(), inputs.size()), alpha);
}
}  // namespace

Value neg(Value x) { return ew(Op::Neg, {x}); }
Value exp(Value x) { return ew(Op::Exp, {x}); }
Value log(Value x) { return ew(Op::Log, {x}); }
Value sqrt(Value x) { return ew(Op::Sqrt, {x}); }
Value abs(Value x) { return ew(Op::Abs, {x}); }
Value relu(Value x) { return ew(Op::Relu, {x}); }
Value leaky_relu(Value x, double alpha) { return ew(Op::LeakyRelu, {x}, alpha); }
Value prelu(Value x, Value a) { return ew(Op::Prelu, {x, a}); }
Value sigmoid(Value x) { return ew(Op::Sigmoid, {x}); }
Value tanh(Value x) { return ew(Op::Tanh, {x}); }
Value elu(Value x, double alpha) { return ew(Op::Elu, {x}, alpha); }
Value silu(Value x) { return ew(Op::Silu, {x}); }
Value gelu(Value x) { return ew(Op::Gelu, {x}); }
Value softplus(Value x) { return ew(Op::Softplus, {x}); }
Value erfc(Value x) { return ew(Op::Erfc, {x}); }
Value expm1(Value x) { return ew(Op::Expm1, {x}); }
Value log1p(Value x) { return ew(Op::Log1p, {x}); }

Value add(Value a, Value b) { return ew(Op::Add, {a, b}); }
Value sub(Value a, Value b) { return ew(Op::Sub, {a, b}); }
Value mul(Value a, Value b) { return ew(Op::Mul, {a, b}); }
Value div(Value a, Value b) { return ew(Op::Div, {a, b}); }
Value maximum(Value a, Value b) { return ew(Op::Maximum, {a, b}); }
Value minimum(Value a, Value b) { return ew(Op::Minimum, {a, b}); }
Value greater(Value a, Value b) { return ew(Op::Greater, {a, b}); }
Value equal(Value a, Value b) { return ew(Op::Equal, {a, b}); }
Value where(Value cond, Value a, Value b) { return ew(Op::Where, {cond, a, b}); }

void check_clamp_bounds(double lo, double hi) {
    if (!(lo <= hi)) throw UserError(fmt::format("clamp: the bounds must have lo <= hi, got lo = {}, hi = {}", lo, hi));
}

Value clamp(Value x, double lo, double hi) {
    check_clamp_bounds(lo, hi);
    // Two wheres: at x == lo or hi neither compare holds, so x itself is picked (gradient 1).
    const Value l = constant_like(x, lo), h = constant_like(x, hi);
    return where(greater(l, x), l, where(greater(x, h), h, x));
}

Value operator+(Value a, Value b) { return add(a, b); }
Value operator-(Value a, Value b) { return sub(a, b); }
Value operator*(Value a, Value b) { return mul(a, b); }
Value operator/(Value a, Value b) { return div(a, b); }
Value operator-(Value x) { return neg(x); }
Value operator+(Value a, double b) { return add(a, constant_like(a, b)); }
Value operator-(Value a, double b) { return sub(a, constant_like(a, b)); }
Value operator*(Value a, double b) { return mul(a, constant_like(a, b)); }
Value operator/(Value a, double b) { return div(a, constant_like(a, b)); }
Value operator+(double a, Value b) { return add(constant_like(b, a), b); }
Value operator-(double a, Value b) { return sub(constant_like(b, a), b); }
Value operator*(double a, Value b) { return mul(constant_like(b, a), b); }
Value operator/(double a, Value b) { return div(constant_like(b, a), b); }

Value cast(Value x, DType dtype) {
    if (x.dtype() == dtype) return x;
    Graph& g = same_graph({&x, 1}, "cast");
    return Value(g, g.make(Op::Cast, dtype, x.shape(), {x.node()}));
}

Value broadcast_to(Value x, const Shape& shape) {
    Graph& g = same_graph({&x, 1}, "broadcast_to");
    if (x.shape() == shape) return x;
    if (!broadcastable_to(x.shape(), shape))
        throw UserError(fmt::format("broadcast_to: shape {} cannot be broadcast to {}", x.shape(), shape));
    return Value(g, g.make(Op::BroadcastTo, x.dtype(), shape, {x.node()}));
}

Value reshape(Value x, const Shape& shape) {
    Graph& g = same_graph({&x, 1}, "reshape");
    if (shape.numel() != x.shape().numel())
        throw UserError(fmt::format("reshape: cannot reshape {} ({} elements) to {} ({} elements)", x.shape(),
                                    x.shape().numel(), shape, shape.numel()));
    if (x.shape() == shape) return x;
    return Value(g, g.make(Op::Reshape, x.dtype(), shape, {x.node()}));
}

Value transpose(Value x) {
    std::vector<std::int64_t> perm(static_cast<std::size_t>(x.shape().rank()));
    std::iota(perm.rbegin(), perm.rend(), 0);
    return transpose(x, std::move(perm));
}

Value transpose(Value x, std::vector<std::int64_t> perm) {
    Graph& g = same_graph({&x, 1}, "transpose");
    const Shape& in = x.shape();
    std::vector<bool> seen(static_cast<std::size_t>(in.rank()), false);
    if (static_cast<int>(perm.size()) != in.rank())
        throw UserError(fmt::format("transpose: permutation ({}) does not fit shape {}", fmt::join(perm, ", "), in));
    std::vector<std::int64_t> dims;
    for (auto p : perm) {
        if (p < 0 || p >= in.rank() || seen[static_cast<std::size_t>(p)])
            throw UserError(fmt::format("transpose: ({}) is not a permutation of the axes of shape {}",
                                        fmt::join(perm, ", "), in));
        seen[static_cast<std::size_t>(p)] = true;
        dims.push_back(in[static_cast<int>(p)]);
    }
    if (std::is_sorted(perm.begin(), perm.end())) return x;
    Attrs attrs;
    attrs.axes = std::move(perm);
    return Value(g, g.make(Op::Transpose, x.dtype(), Shape(std::move(dims)), {x.node()}, std::move(attrs)));
}

Value matmul(Value a, Value b) {
    const Value both[] = {a, b};
    Graph& g = same_graph(both, "matmul");
    if (a.shape().rank() != 2 || b.shape().rank() != 2)
        throw UserError(fmt::format("matmul: operands must be 2-D, got shapes {} and {}", a.shape(), b.shape()));
    if (a.shape()[1] != b.shape()[0])
        throw UserError(fmt::format("matmul: inner dimensions differ: shapes {} and {}", a.shape(), b.shape()));
    const DType dtype = promote(a.dtype(), b.dtype());
    a = cast(a, dtype);
    b = cast(b, dtype);
    return Value(g, g.make(Op::MatMul, dtype, Shape{a.shape()[0], b.shape()[1]}, {a.node(), b.node()}));
}

Value matmul_acc(Value a, Value b, Value c, Value s, double beta) {
    const Value all[] = {a, b, c, s};
    Graph& g = same_graph(all, "matmul_acc");
    if (a.shape().rank() != 2 || b.shape().rank() != 2)
        throw UserError(fmt::format("matmul_acc: operands must be 2-D, got shapes {} and {}", a.shape(), b.shape()));
    if (a.shape()[1] != b.shape()[0])
        throw UserError(fmt::format("matmul_acc: inner dimensions differ: shapes {} and {}", a.shape(), b.shape()));
    const Shape out{a.shape()[0], b.shape()[1]};
    if (c.shape() != out)
        throw UserError(fmt::format("matmul_acc: the accumulator has shape {}, the product of {} and {} has shape {}",
                                    c.shape(), a.shape(), b.shape(), out));
    if (s.shape().rank() != 0)
        throw UserError(fmt::format("matmul_acc: the scale must be a scalar, got shape {}", s.shape()));
    const DType dtype = promote(promote(a.dtype(), b.dtype()), promote(c.dtype(), s.dtype()));
    Attrs attrs;
    attrs.alpha = beta;
    return Value(g, g.make(Op::MatMulAcc, dtype, out,
                           {cast(a, dtype).node(), cast(b, dtype).node(), cast(c, dtype).node(), cast(s, dtype).node()},
                           std::move(attrs)));
}

Value sum(Value x, bool keepdims) { return reduce(Op::Sum, x, {}, keepdims, true); }
Value sum(Value x, std::int64_t axis, bool keepdims) { return reduce(Op::Sum, x, {axis}, keepdims, false); }
Value sum(Value x, std::vector<std::int64_t> axes, bool keepdims) {
    return reduce(Op::Sum, x, std::move(axes), keepdims, false);
}
Value mean(Value x, bool keepdims) { return reduce(Op::Mean, x, {}, keepdims, true); }
Value mean(Value x, std::int64_t axis, bool keepdims) { return reduce(Op::Mean, x, {axis}, keepdims, false); }
Value mean(Value x, std::vector<std::int64_t> axes, bool keepdims) {
    return reduce(Op::Mean, x, std::move(axes), keepdims, false);
}

Value max(Value x, bool keepdims) { return reduce(Op::Max, x, {}, keepdims, true); }
Value max(Value x, std::int64_t axis, bool keepdims) { return reduce(Op::Max, x, {axis}, keepdims, false); }
Value max(Value x, std::vector<std::int64_t> axes, bool keepdims) {
    return reduce(Op::Max, x, std::move(axes), keepdims, false);
}
Value min(Value x, bool keepdims) { return reduce(Op::Min, x, {}, keepdims, true); }
Value min(Value x, std::int64_t axis, bool keepdims) { return reduce(Op::Min, x, {axis}, keepdims, false); }
Value min(Value x, std::vector<std::int64_t> axes, bool keepdims) {
    return reduce(Op::Min, x, std::move(axes), keepdims, false);
}

Value sum_to(Value x, const Shape& shape) {
    const Shape& in = x.shape();
    if (in == shape) return x;
    if (!broadcastable_to(shape, in))
        throw UserError(fmt::format("sum_to: shape {} is not a broadcast of {}", in, shape));
    std::vector<std::int64_t> axes;
    const int lead = in.rank() - shape.rank();
    for (int i = 0; i < in.rank(); ++i)
        if (i < lead || (shape[i - lead] == 1 && in[i] != 1)) axes.push_back(i);
    Value s = axes.empty() ? x : sum(x, std::move(axes), true);
    return reshape(s, shape);
}

Value softmax(Value x, std::int64_t axis) { return normalize(Op::Softmax, x, axis); }
Value log_softmax(Value x, std::int64_t axis) { return normalize(Op::LogSoftmax, x, axis); }

Value mse(Value y, Value target) {
    if (y.shape() != target.shape())
        throw UserError(fmt::format("mse: prediction and target shapes differ: {} and {}", y.shape(), target.shape()));
    Value d = y - target;
    return mean(d * d);
}

Value cross_entropy(Value logits, Value target) {
    if (logits.shape().rank() != 2 || logits.shape() != target.shape())
        throw UserError(fmt::format("cross_entropy: logits and target must be 2-D of the same shape, got {} and {}",
                                    logits.shape(), target.shape()));
    const double rows = static_cast<double>(logits.shape()[0]);
    return neg(sum(target * log_softmax(logits, 1))) / rows;
}

}  // namespace nnjit
