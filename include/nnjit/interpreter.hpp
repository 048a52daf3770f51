// The reference interpreter: runs a graph node by node, each node one tight loop compiled
// ahead of time, each result a materialised tensor freed after its last use. It is the
// oracle the JIT is tested against, and the baseline it is measured against.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "nnjit/program.hpp"

namespace nnjit {

class Interpreter final : public Program {
public:
    // Nodes run in the order of the graph, except that an output written over an input
    // (in_place) is computed after every other reader of that input.
    explicit Interpreter(std::vector<Value> outputs, const std::vector<InPlace>& in_place = {});
    std::vector<Tensor> run(const Bindings& bindings) const override;
    // Output nodes write straight into `outputs` (like PyTorch's out= variants).
    void run_into(const Bindings& bindings, std::span<Tensor> outputs) const override;
    void run_into(std::span<const Tensor* const> inputs, std::span<Tensor> outputs) const override;

private:
    // Storage of temporaries, kept between runs so that a steady-state run allocates only
    // its outputs (fresh large allocations cost page faults on every run otherwise).
    using Pool = std::vector<std::shared_ptr<Storage>>;

    std::shared_ptr<const void> graph_nodes_;  // keeps order_'s nodes alive
    std::vector<const Node*> order_;         // topological
    std::vector<int> last_use_;              // per position in order_: last position reading it
    std::vector<std::vector<int>> input_positions_;  // per node: positions of its inputs
    std::vector<int> output_positions_;      // position in order_ of each output
    std::vector<int> caller_output_;         // per position: the caller's output it is written into, or -1
    std::vector<Tensor> constants_;          // per position: the value of constants and literals
    std::vector<int> input_index_;           // per position: index in input_names() of a placeholder
    // inputs: checked, in input_names() order.
    std::vector<Tensor> execute(std::span<const Tensor* const> inputs, std::span<Tensor> caller_outputs) const;

    mutable std::mutex pool_mutex_;
    mutable Pool pool_;
};

// Makes a contiguous tensor for a node's result.
using Allocator = std::function<Tensor(DType, const Shape&)>;

// Evaluates one node given its input tensors (used by the interpreter and by engines that
// fall back to it for ops they do not generate code for). Results that are not views of an
// input are allocated through `allocate` (default: Tensor::empty).
Tensor evaluate_node(const Node& node, std::span<const Tensor> inputs, const Allocator& allocate = {});

}  // namespace nnjit
