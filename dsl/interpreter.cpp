#include "nnjit/interpreter.hpp"

#include <optional>

#include "kernels.hpp"
#include "nnjit/error.hpp"

namespace nnjit {

Tensor evaluate_node(const Node& node, std::span<const Tensor> in) {
    switch (op_info(node.op()).kind) {
    case OpKind::Elementwise: return detail::elementwise_kernel(node, in);
    case OpKind::Source:
        if (node.op() == Op::Constant) return Tensor::scalar(node.dtype(), node.attrs().alpha);
        if (node.op() == Op::Literal) return *node.attrs().literal;
        throw InternalError("placeholders are bound, not evaluated");
    case OpKind::Composite: break;
    case OpKind::Structural:
        switch (node.op()) {
        case Op::Cast: return in[0].to(node.dtype());
        case Op::BroadcastTo: return in[0].broadcast_to(node.shape());
        case Op::Reshape: return in[0].reshape(node.shape());
        case Op::Transpose: {
            std::vector<int> perm(node.attrs().axes.begin(), node.attrs().axes.end());
            return in[0].transpose(perm);
        }
        case Op::Sum:
        case Op::Mean: return detail::reduction_kernel(node, in[0]);
        case Op::MatMul: return detail::matmul_kernel(in[0], in[1]);
        case Op::Softmax:
        case Op::LogSoftmax: return detail::softmax_kernel(node, in[0]);
        default: break;
        }
    }
    throw InternalError(fmt::format("the interpreter has no kernel for {}", op_name(node.op())));
}

Interpreter::Interpreter(std::vector<Value> outputs) {
    order_ = reachable_nodes(outputs);
    std::vector<int> position(static_cast<std::size_t>(outputs.empty() ? 0 : outputs.front().graph().size()), -1);
    for (std::size_t i = 0; i < order_.size(); ++i) position[static_cast<std::size_t>(order_[i]->id())] = static_cast<int>(i);
    last_use_.assign(order_.size(), -1);
    input_positions_.resize(order_.size());
    for (std::size_t i = 0; i < order_.size(); ++i)
        for (const Node* in : order_[i]->inputs()) {
            const int p = position[static_cast<std::size_t>(in->id())];
            input_positions_[i].push_back(p);
            last_use_[static_cast<std::size_t>(p)] = static_cast<int>(i);
        }
    for (const Value& v : outputs) {
        const int p = position[static_cast<std::size_t>(v.node()->id())];
        output_positions_.push_back(p);
        last_use_[static_cast<std::size_t>(p)] = static_cast<int>(order_.size());  // outputs live to the end
    }
}

std::vector<Tensor> Interpreter::run(const Bindings& bindings) const {
    std::vector<std::optional<Tensor>> values(order_.size());
    std::vector<Tensor> args;
    for (std::size_t i = 0; i < order_.size(); ++i) {
        const Node& n = *order_[i];
        if (n.op() == Op::Input || n.op() == Op::Parameter) {
            values[i] = bound_tensor(n, bindings);
            continue;
        }
        args.clear();
        for (int p : input_positions_[i]) args.push_back(*values[static_cast<std::size_t>(p)]);
        values[i] = evaluate_node(n, args);
        args.clear();
        for (int p : input_positions_[i])
            if (last_use_[static_cast<std::size_t>(p)] == static_cast<int>(i)) values[static_cast<std::size_t>(p)].reset();
    }
    std::vector<Tensor> out;
    for (int p : output_positions_) {
        const Tensor& v = *values[static_cast<std::size_t>(p)];
        // Outputs are fresh and contiguous: never a view of a caller's tensor or a literal.
        const Op op = order_[static_cast<std::size_t>(p)]->op();
        const bool view = op == Op::Input || op == Op::Parameter || op == Op::Literal || op == Op::BroadcastTo ||
                          op == Op::Reshape || op == Op::Transpose || !v.is_contiguous();
        out.push_back(view ? v.clone() : v);
    }
    return out;
}

}  // namespace nnjit
