// The reference interpreter: runs a graph node by node, each node one tight loop compiled
// ahead of time, each result a materialised tensor freed after its last use. It is the
// oracle the JIT is tested against, and the baseline it is measured against.
#pragma once

#include <vector>

#include "nnjit/program.hpp"

namespace nnjit {

class Interpreter final : public Program {
public:
    explicit Interpreter(std::vector<Value> outputs);
    std::vector<Tensor> run(const Bindings& bindings) const override;

private:
    std::vector<const Node*> order_;         // topological
    std::vector<int> last_use_;              // per position in order_: last position reading it
    std::vector<std::vector<int>> input_positions_;  // per node: positions of its inputs
    std::vector<int> output_positions_;      // position in order_ of each output
};

// Evaluates one node given its input tensors (used by the interpreter and by engines that
// fall back to it for ops they do not generate code for).
Tensor evaluate_node(const Node& node, std::span<const Tensor> inputs);

}  // namespace nnjit
