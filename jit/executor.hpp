// The executor: a Program that runs a fused plan. Kernels write only what the plan
// materialises; small matrix products run on raw pointers; other steps run the interpreter's
// kernel for their node. A large kernel is cut into chunks that depend only on its shape
// (never on the thread count), run across cores with OpenMP; sums are combined chunk by chunk
// in a fixed order, so results are the same with any number of threads.
//
// Everything that does not depend on the tensors of a call - where each value lives, which
// pointers each kernel takes, which temporaries can share a buffer - is worked out once, when
// the program is made (a Schedule). A call takes a Workspace (the temporaries' buffers) from
// a pool, fills in the pointers of its inputs and outputs and runs the steps: a steady-state
// run allocates nothing. Concurrent calls take different workspaces.
#pragma once

#include <memory>
#include <mutex>
#include <vector>

#include "engine.hpp"
#include "fusion.hpp"
#include "nnjit/program.hpp"

namespace nnjit::jit {

class JitProgram final : public Program {
public:
    // Compiles every kernel of the plan (through the engine's caches). The steps run in the
    // plan's order, except that an output written over an input (in_place) is computed after
    // every other step reading that input.
    JitProgram(Plan plan, const std::vector<InPlace>& in_place = {});
    ~JitProgram() override;
    std::vector<Tensor> run(const Bindings& bindings) const override;
    void run_into(const Bindings& bindings, std::span<Tensor> outputs) const override;
    void run_into(std::span<const Tensor* const> inputs, std::span<Tensor> outputs) const override;

    const Plan& plan() const { return plan_; }

private:
    struct Schedule;
    struct Workspace;
    class Lease;
    class Run;
    class Scheduler;

    std::shared_ptr<const void> graph_nodes_;  // keeps the plan's nodes alive
    Plan plan_;
    std::vector<CompiledKernel> kernels_;  // holding them keeps their code loaded
    std::unique_ptr<const Schedule> schedule_;
    mutable std::mutex pool_mutex_;
    mutable std::vector<std::unique_ptr<Workspace>> pool_;  // workspaces no call is using

    std::unique_ptr<Workspace> make_workspace() const;
    // inputs and outputs checked.
    void execute(std::span<const Tensor* const> inputs, std::span<Tensor> outputs) const;
};

}  // namespace nnjit::jit
