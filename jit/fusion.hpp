// Fusion: cuts a graph (forward and backward nodes alike) into the steps the JIT runs.
// Connected elementwise nodes become one kernel, as large as the graph allows without a
// cycle between kernels; a sum or mean becomes the epilogue of the kernel producing its
// input; broadcast_to / reshape / transpose of a materialised tensor are read in place
// through strides; scalar constants are folded into the code; softmax and log_softmax of a
// contiguous tensor are kernels of their own (a row of slices at a time). Everything else
// (matmul, cast, softmax over a strided view or over rows of many slices past 4 MiB, ...) is a
// step the interpreter's kernel runs.
#pragma once

#include <string>
#include <vector>

#include "kernel.hpp"
#include "nnjit/graph.hpp"

namespace nnjit::jit {

struct FusedKernel {
    KernelSpec spec;
    Shape domain;                              // the domain before its dimensions were merged
    std::vector<const Node*> operand_sources;  // the materialised node each operand reads
    std::vector<const Node*> stored;           // the node each store writes
    std::vector<const Node*> reduced;          // the sum/mean node of each reduction
    std::vector<const Node*> members;          // elementwise nodes computed in the loop (or the softmax)
};

// One step of a plan: kernels[kernel], or (kernel < 0) `node` run by evaluate_node.
struct PlanStep {
    int kernel = -1;
    const Node* node = nullptr;
};

struct Plan {
    std::vector<Value> outputs;
    std::vector<const Node*> order;  // every node reachable from the outputs, topological
    std::vector<FusedKernel> kernels;
    std::vector<PlanStep> steps;     // in an order that respects every dependency
};

Plan fuse(std::vector<Value> outputs);

// The plan as text, one step per paragraph (NNJIT_DUMP=fused, inspect_jit()).
std::string format_plan(const Plan& plan);

}  // namespace nnjit::jit
