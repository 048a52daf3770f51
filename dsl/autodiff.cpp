// Reverse-mode autodiff. Elementwise ops take their vector-Jacobian rule from op_rules.hpp,
// run over GraphMath, whose "numbers" are graph nodes; the structural ops' rules are below.
#include "nnjit/autodiff.hpp"

#include <numeric>

#include "nnjit/error.hpp"
#include "nnjit/graph_ops.hpp"
#include "nnjit/op_rules.hpp"

namespace nnjit {
namespace {

// The Math of op_rules.hpp over graph nodes: each operation adds a node.
struct GraphMath {
    Graph& g;
    DType dtype;

    Value c(double v) const { return g.constant(v, dtype); }
    static Value add(Value a, Value b) { return nnjit::add(a, b); }
    static Value sub(Value a, Value b) { return nnjit::sub(a, b); }
    static Value mul(Value a, Value b) { return nnjit::mul(a, b); }
    static Value div(Value a, Value b) { return nnjit::div(a, b); }
    static Value neg(Value a) { return nnjit::neg(a); }
    static Value exp(Value a) { return nnjit::exp(a); }
    static Value gt(Value a, Value b) { return greater(a, b); }
    static Value lt(Value a, Value b) { return greater(b, a); }
    static Value eq(Value a, Value b) { return equal(a, b); }
    static Value select(Value mask, Value a, Value b) { return where(mask, a, b); }
    template <class R> Value make(Value x) const {
        if constexpr (std::is_same_v<R, rules::Sigmoid>) return sigmoid(x);
        else if constexpr (std::is_same_v<R, rules::Erfc>) return erfc(x);
        else static_assert(sizeof(R) == 0, "GraphMath cannot make this op");
    }
};

template <class R, std::size_t... I>
void elementwise_vjp(GraphMath& m, const Node& n, Value y, Value gy, std::vector<Value>& grads,
                     std::index_sequence<I...>) {
    Graph& g = m.g;
    auto grads_tuple = [&] {
        if constexpr (rules::takes_alpha<R>) return R::vjp(m, n.attrs().alpha, Value(g, n.input(I))..., y, gy);
        else return R::vjp(m, Value(g, n.input(I))..., y, gy);
    }();
    ((grads[I] = [&] {
         if constexpr (std::is_same_v<std::tuple_element_t<I, decltype(grads_tuple)>, rules::NoGrad>) return Value();
         else return std::get<I>(grads_tuple);
     }()),
     ...);
}

std::vector<std::int64_t> inverse_permutation(const std::vector<std::int64_t>& perm) {
    std::vector<std::int64_t> inv(perm.size());
    for (std::size_t i = 0; i < perm.size(); ++i) inv[static_cast<std::size_t>(perm[i])] = static_cast<std::int64_t>(i);
    return inv;
}

// Gradient of a sum/mean output back to the input's shape.
Value unreduce(const Node& n, Value gy) {
    const Shape& in = n.input(0)->shape();
    std::vector<std::int64_t> kept(static_cast<std::size_t>(in.rank()));
    for (int i = 0; i < in.rank(); ++i) kept[static_cast<std::size_t>(i)] = in[i];
    for (auto a : n.attrs().axes) kept[static_cast<std::size_t>(a)] = 1;
    return broadcast_to(reshape(gy, Shape(kept)), in);
}

// One gradient per input of `n` (empty Value: none).
std::vector<Value> vjp(Graph& g, const Node& n, Value gy) {
    const Value y(g, &n);
    std::vector<Value> grads(n.inputs().size());
    auto in = [&](int i) { return Value(g, n.input(i)); };
    GraphMath m{g, n.dtype()};
    switch (n.op()) {
#define NNJIT_ELEMENTWISE(Name, name, arity)                                                                   \
    case Op::Name:                                                                                             \
        elementwise_vjp<rules::Name>(m, n, y, gy, grads, std::make_index_sequence<arity>{});                  \
        break;
#include "nnjit/ops.def"
    case Op::Input:
    case Op::Parameter:
    case Op::Constant:
    case Op::Literal: break;
    case Op::Cast: grads[0] = cast(gy, n.input(0)->dtype()); break;
    case Op::BroadcastTo: grads[0] = sum_to(gy, n.input(0)->shape()); break;
    case Op::Reshape: grads[0] = reshape(gy, n.input(0)->shape()); break;
    case Op::Transpose: grads[0] = transpose(gy, inverse_permutation(n.attrs().axes)); break;
    case Op::Sum: grads[0] = unreduce(n, gy); break;
    case Op::Mean: {
        const double count = static_cast<double>(n.input(0)->shape().numel()) / static_cast<double>(n.shape().numel());
        grads[0] = unreduce(n, gy / count);
        break;
    }
    case Op::Max:
    case Op::Min: {
        // To the elements equal to the result, split evenly among ties (as PyTorch's amax); where
        // the result is NaN no element equals it: 0 * (gy / 0) makes the gradient NaN.
        const Value hit = equal(in(0), unreduce(n, y));
        grads[0] = hit * unreduce(n, gy / sum(hit, n.attrs().axes, n.attrs().keepdims));
        break;
    }
    case Op::MatMul:
        grads[0] = matmul(gy, transpose(in(1)));
        grads[1] = matmul(transpose(in(0)), gy);
        break;
    case Op::MatMulAcc: {  // y = beta * c + s * (a @ b)
        const Value s = in(3);
        grads[0] = matmul(gy, transpose(in(1))) * s;
        grads[1] = matmul(transpose(in(0)), gy) * s;
        grads[2] = gy * n.attrs().alpha;
        grads[3] = sum(gy * matmul(in(0), in(1)));
        break;
    }
    case Op::Softmax: {
        const auto axis = n.attrs().axes.at(0);
        grads[0] = y * (gy - sum(gy * y, axis, true));
        break;
    }
    case Op::LogSoftmax: {
        const auto axis = n.attrs().axes.at(0);
        grads[0] = gy - exp(y) * sum(gy, axis, true);
        break;
    }
    }
    return grads;
}

}  // namespace

std::vector<Value> grad(Value y, std::span<const Value> wrt, Value seed) {
    if (!y) throw UserError("grad: the output is an empty Value");
    Graph& g = y.graph();
    for (const Value& w : wrt)
        if (!w || &w.graph() != &g) throw UserError("grad: a variable does not belong to the output's graph");
    if (!seed) seed = broadcast_to(g.constant(1.0, y.dtype()), y.shape());
    if (seed.shape() != y.shape())
        throw UserError(fmt::format("grad: seed has shape {}, the output has shape {}", seed.shape(), y.shape()));
    seed = cast(seed, y.dtype());

    const auto order = reachable_nodes({&y, 1});
    std::vector<Value> adjoint(static_cast<std::size_t>(g.size()));
    adjoint[static_cast<std::size_t>(y.node()->id())] = seed;
    for (auto it = order.rbegin(); it != order.rend(); ++it) {
        const Node& n = **it;
        const Value gy = adjoint[static_cast<std::size_t>(n.id())];
        if (!gy) continue;
        const auto grads = vjp(g, n, gy);
        for (std::size_t i = 0; i < grads.size(); ++i) {
            if (!grads[i]) continue;
            Value& acc = adjoint[static_cast<std::size_t>(n.inputs()[i]->id())];
            acc = acc ? acc + grads[i] : grads[i];
        }
    }
    std::vector<Value> out;
    for (const Value& w : wrt) {
        Value a = w.node()->id() < static_cast<int>(adjoint.size()) ? adjoint[static_cast<std::size_t>(w.node()->id())]
                                                                    : Value();
        out.push_back(a ? a : broadcast_to(g.constant(0.0, w.dtype()), w.shape()));
    }
    return out;
}

}  // namespace nnjit
