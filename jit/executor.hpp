// The executor: a Program that runs a fused plan. Kernels write only what the plan
// materialises; other steps run the interpreter's kernel for their node. A large kernel is cut
// into chunks that depend only on its shape (never on the thread count), run across cores
// with OpenMP; sums are combined chunk by chunk in a fixed order, so results are the same
// with any number of threads.
#pragma once

#include <vector>

#include "engine.hpp"
#include "fusion.hpp"
#include "nnjit/program.hpp"

namespace nnjit::jit {

class JitProgram final : public Program {
public:
    // Compiles every kernel of the plan (through the engine's caches).
    explicit JitProgram(Plan plan);
    std::vector<Tensor> run(const Bindings& bindings) const override;
    void run_into(const Bindings& bindings, std::span<Tensor> outputs) const override;

    const Plan& plan() const { return plan_; }

private:
    std::shared_ptr<const void> graph_nodes_;  // keeps the plan's nodes alive
    Plan plan_;
    std::vector<CompiledKernel> kernels_;  // holding them keeps their code loaded
    std::vector<int> position_;  // per node id: position in plan_.order, or -1
    std::vector<Tensor> execute(const Bindings& bindings, std::span<Tensor> caller_outputs) const;
};

}  // namespace nnjit::jit
