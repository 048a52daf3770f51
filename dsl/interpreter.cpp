#include "nnjit/interpreter.hpp"

#include <algorithm>
#include <cstring>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "in_place_order.hpp"
#include "kernels.hpp"
#include "nnjit/error.hpp"
#include "nnjit/thread_policy.hpp"

namespace nnjit {

Tensor evaluate_node(const Node& node, std::span<const Tensor> in, const Allocator& allocate) {
    auto result = [&] { return allocate ? allocate(node.dtype(), node.shape()) : Tensor::empty(node.dtype(), node.shape()); };
    switch (op_info(node.op()).kind) {
    case OpKind::Elementwise: {
        Tensor out = result();
        detail::elementwise_kernel(node, in, out);
        return out;
    }
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
        case Op::Mean:
        case Op::Max:
        case Op::Min: {
            Tensor out = result();
            detail::reduction_kernel(node, in[0], out);
            return out;
        }
        case Op::MatMul: {
            Tensor out = result();
            detail::matmul_kernel(in[0], in[1], out);
            return out;
        }
        case Op::MatMulAcc: {
            Tensor out = result();
            detail::matmul_acc_kernel(in[0], in[1], in[2], in[3], node.attrs().alpha, out);
            return out;
        }
        case Op::Softmax:
        case Op::LogSoftmax: {
            Tensor out = result();
            detail::softmax_kernel(node, in[0], out);
            return out;
        }
        default: break;
        }
    }
    throw InternalError(fmt::format("the interpreter has no kernel for {}", op_name(node.op())));
}

namespace {

bool is_view(Op op) { return op == Op::BroadcastTo || op == Op::Reshape || op == Op::Transpose; }

// Ops whose result evaluate_node writes where the allocator says (the caller's output).
bool writes_through_allocator(Op op) {
    if (op_info(op).kind == OpKind::Elementwise) return true;
    return is_axis_reduction(op) || op == Op::MatMul || op == Op::MatMulAcc || op == Op::Softmax ||
           op == Op::LogSoftmax;
}

// `order` (topological) reordered so that each output written over an input (in_place, per
// output the index of its placeholder or -1) comes after every other node reading that input;
// `written_in_place[k]` tells whether output k could be.
std::vector<const Node*> order_for_in_place(std::vector<const Node*> order, std::span<const Value> outputs,
                                            std::span<const Node* const> placeholders, std::span<const int> in_place,
                                            std::vector<bool>& written_in_place) {
    written_in_place.assign(outputs.size(), false);
    if (std::all_of(in_place.begin(), in_place.end(), [](int i) { return i < 0; })) return order;
    std::unordered_map<const Node*, std::size_t> position;
    for (std::size_t i = 0; i < order.size(); ++i) position[order[i]] = i;
    std::vector<std::vector<std::size_t>> after(order.size());
    for (std::size_t i = 0; i < order.size(); ++i)
        for (const Node* in : order[i]->inputs()) after[i].push_back(position.at(in));
    std::vector<detail::InPlaceWrite> writes;
    std::vector<std::size_t> write_output;  // the output of each write
    for (std::size_t k = 0; k < outputs.size(); ++k) {
        if (in_place[k] < 0) continue;
        const Node* p = placeholders[static_cast<std::size_t>(in_place[k])];
        const Node* w = outputs[k].node();
        // The input and the views of it (they share its storage).
        std::unordered_set<const Node*> storage{p};
        for (const Node* n : order)
            if (is_view(n->op()) && storage.count(n->input(0))) storage.insert(n);
        // An output that is the input or a view of it is copied after every node has run.
        bool possible = writes_through_allocator(w->op());
        for (const Value& v : outputs) possible = possible && !storage.count(v.node());
        // The writer may read the input only as the accumulator BLAS updates where it is.
        for (std::size_t a = 0; a < w->inputs().size(); ++a)
            if (storage.count(w->inputs()[a]) && !(w->op() == Op::MatMulAcc && a == 2 && w->inputs()[a] == p))
                possible = false;
        if (!possible) continue;
        detail::InPlaceWrite write{position.at(w), {}};
        for (std::size_t i = 0; i < order.size(); ++i)
            for (const Node* in : order[i]->inputs())
                if (storage.count(in) && !is_view(order[i]->op()) && order[i] != w) {
                    write.readers.push_back(i);
                    break;
                }
        writes.push_back(std::move(write));
        write_output.push_back(k);
    }
    const detail::InPlaceOrder planned = detail::order_in_place_writes(after, writes);
    for (std::size_t j = 0; j < writes.size(); ++j) written_in_place[write_output[j]] = planned.in_place[j];
    std::vector<const Node*> reordered;
    for (std::size_t i : planned.order) reordered.push_back(order[i]);
    return reordered;
}

}  // namespace

Interpreter::Interpreter(std::vector<Value> outputs, const std::vector<InPlace>& in_place) : Program(outputs, in_place) {
    std::vector<bool> written_in_place;
    order_ = order_for_in_place(reachable_nodes(outputs), outputs, placeholder_nodes(), in_place_inputs(),
                                written_in_place);
    if (!outputs.empty()) graph_nodes_ = outputs.front().graph().nodes_owner();
    std::vector<int> position(static_cast<std::size_t>(outputs.empty() ? 0 : outputs.front().graph().size()), -1);
    for (std::size_t i = 0; i < order_.size(); ++i) position[static_cast<std::size_t>(order_[i]->id())] = static_cast<int>(i);
    last_use_.assign(order_.size(), -1);
    input_positions_.resize(order_.size());
    for (std::size_t i = 0; i < order_.size(); ++i)
        for (const Node* in : order_[i]->inputs()) {
            const int p = position[static_cast<std::size_t>(in->id())];
            input_positions_[i].push_back(p);
            last_use_[static_cast<std::size_t>(p)] = std::max(last_use_[static_cast<std::size_t>(p)], static_cast<int>(i));
        }
    constants_.resize(order_.size());
    for (std::size_t i = 0; i < order_.size(); ++i)
        if (order_[i]->op() == Op::Constant || order_[i]->op() == Op::Literal)
            constants_[i] = evaluate_node(*order_[i], {});
    input_index_.assign(order_.size(), -1);
    const auto placeholders = placeholder_nodes();
    for (std::size_t k = 0; k < placeholders.size(); ++k)
        input_index_[static_cast<std::size_t>(position[static_cast<std::size_t>(placeholders[k]->id())])] = static_cast<int>(k);
    for (const Value& v : outputs) {
        const int p = position[static_cast<std::size_t>(v.node()->id())];
        output_positions_.push_back(p);
        last_use_[static_cast<std::size_t>(p)] = static_cast<int>(order_.size());  // outputs live to the end
    }
    // A node that is an output is written into the caller's tensor: the output written over an
    // input when it can be, else the first output it is that overwrites no input early (one
    // that cannot be written in place is computed into a temporary and copied at the end).
    caller_output_.assign(order_.size(), -1);
    const auto over_input = in_place_inputs();
    for (std::size_t k = 0; k < outputs.size(); ++k)
        if (written_in_place[k]) caller_output_[static_cast<std::size_t>(output_positions_[k])] = static_cast<int>(k);
    for (std::size_t k = 0; k < outputs.size(); ++k) {
        int& target = caller_output_[static_cast<std::size_t>(output_positions_[k])];
        if (target < 0 && over_input[k] < 0) target = static_cast<int>(k);
    }
}

std::vector<Tensor> Interpreter::run(const Bindings& bindings) const {
    std::vector<const Tensor*> inputs(placeholder_nodes().size());
    find_inputs(bindings, inputs);
    return execute(inputs, {});
}

namespace {

// execute() writes an output straight into the caller's tensor where it can; the others are
// copied there.
void copy_results_not_written_in_place(std::span<const Tensor> results, std::span<Tensor> outputs) {
    for (std::size_t k = 0; k < outputs.size(); ++k)
        if (!results[k].shares_storage_with(outputs[k]))
            std::memcpy(outputs[k].raw_data(), results[k].raw_data(),
                        static_cast<std::size_t>(outputs[k].numel()) * dtype_size(outputs[k].dtype()));
}

}  // namespace

void Interpreter::run_into(const Bindings& bindings, std::span<Tensor> outputs) const {
    std::vector<const Tensor*> inputs(placeholder_nodes().size());
    find_inputs(bindings, inputs);  // checks them
    check_outputs(outputs, inputs);
    copy_results_not_written_in_place(execute(inputs, outputs), outputs);
}

void Interpreter::run_into(std::span<const Tensor* const> inputs, std::span<Tensor> outputs) const {
    check_inputs(inputs);
    check_outputs(outputs, inputs);
    copy_results_not_written_in_place(execute(inputs, outputs), outputs);
}

std::vector<Tensor> Interpreter::execute(std::span<const Tensor* const> inputs, std::span<Tensor> caller_outputs) const {
    const ParallelCall call;  // its products share OpenMP's workers, released at the end
    Pool pool;
    {
        std::lock_guard lock(pool_mutex_);
        pool.swap(pool_);  // a concurrent run starts with an empty pool and allocates
    }
    // Only buffers made here go back to the pool, so it never holds more than one run's
    // temporaries.
    std::unordered_set<const Storage*> allocated;
    const Allocator allocate = [&pool, &allocated](DType dtype, const Shape& shape) {
        const auto bytes = static_cast<std::size_t>(shape.numel()) * dtype_size(dtype);
        auto it = std::find_if(pool.begin(), pool.end(), [&](const auto& s) { return s->bytes() == bytes; });
        Tensor t = it == pool.end() ? Tensor::empty(dtype, shape) : Tensor::on_storage(std::move(*it), dtype, shape);
        if (it != pool.end()) pool.erase(it);
        allocated.insert(t.storage().get());
        return t;
    };
    // Recycles a dead temporary's storage unless something else (a view, the caller) holds it.
    const auto release = [&pool, &allocated](std::optional<Tensor>& value) {
        if (value->storage().use_count() == 1 && allocated.count(value->storage().get()))
            pool.push_back(value->storage());
        value.reset();
    };

    std::vector<std::optional<Tensor>> values(order_.size());
    std::vector<Tensor> args;
    for (std::size_t i = 0; i < order_.size(); ++i) {
        const Node& n = *order_[i];
        if (n.op() == Op::Input || n.op() == Op::Parameter) {
            values[i] = *inputs[static_cast<std::size_t>(input_index_[i])];
            continue;
        }
        if (n.op() == Op::Constant || n.op() == Op::Literal) {
            values[i] = constants_[i];
            continue;
        }
        args.clear();
        for (int p : input_positions_[i]) args.push_back(*values[static_cast<std::size_t>(p)]);
        if (!caller_outputs.empty() && caller_output_[i] >= 0) {
            Tensor& target = caller_outputs[static_cast<std::size_t>(caller_output_[i])];
            values[i] = evaluate_node(n, args, [&target](DType, const Shape&) { return target; });
        } else {
            values[i] = evaluate_node(n, args, allocate);
        }
        args.clear();
        for (int p : input_positions_[i])
            if (last_use_[static_cast<std::size_t>(p)] == static_cast<int>(i) && values[static_cast<std::size_t>(p)])
                release(values[static_cast<std::size_t>(p)]);
    }
    std::vector<Tensor> out;
    for (int p : output_positions_) {
        const Tensor& v = *values[static_cast<std::size_t>(p)];
        // Outputs are fresh and contiguous: never a view of a caller's tensor or a literal.
        const Op op = order_[static_cast<std::size_t>(p)]->op();
        const bool view = op == Op::Input || op == Op::Parameter || op == Op::Constant || op == Op::Literal || is_view(op) ||
                          !v.is_contiguous();
        out.push_back(view ? v.clone() : v);
    }
    values.clear();
    std::lock_guard lock(pool_mutex_);
    if (pool_.size() < pool.size()) pool_.swap(pool);
    return out;
}

}  // namespace nnjit
