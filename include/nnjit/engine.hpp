// Choosing an engine: compile a graph's outputs into a Program run by the reference
// interpreter or by the JIT, and inspect what the JIT made of it.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "nnjit/program.hpp"

namespace nnjit {

enum class Backend { interp, jit };

std::string_view backend_name(Backend backend);

// Compiles `outputs` (all of one graph) for `backend`; `in_place` lists the outputs that may
// be written over inputs (see InPlace).
std::unique_ptr<Program> compile(std::vector<Value> outputs, Backend backend = Backend::jit,
                                 const std::vector<InPlace>& in_place = {});

// What the JIT makes of a graph, as text: how it was cut into kernels, the optimised LLVM IR
// and the host assembly of those kernels.
struct JitReport {
    std::string fused_plan;
    std::string llvm_ir;
    std::string assembly;
};
JitReport inspect_jit(std::vector<Value> outputs);

// LLVM's name for the host CPU the JIT compiles for (znver4, znver5, sapphirerapids, ...):
// what a benchmark result needs beside it, since a model name such as "AMD EPYC" covers
// cores with different vector units.
std::string jit_target_cpu();

}  // namespace nnjit
