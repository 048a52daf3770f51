// compile(): the one place that picks an engine for a graph; inspect_jit() shows what the JIT
// makes of one. NNJIT_DUMP=ir,fused prints the graph and its plan to stderr as they are made
// (llvm and asm are printed by the engine as kernels are built).
#include <cstdlib>
#include <string>

#include <fmt/format.h>

#include "engine.hpp"
#include "executor.hpp"
#include "fusion.hpp"
#include "nnjit/engine.hpp"
#include "nnjit/error.hpp"
#include "nnjit/interpreter.hpp"

namespace nnjit {
namespace {

bool dumping(std::string_view what) {
    const char* v = std::getenv("NNJIT_DUMP");
    if (!v) return false;
    return fmt::format(",{},", v).find(fmt::format(",{},", what)) != std::string::npos;
}

}  // namespace

std::string_view backend_name(Backend backend) { return backend == Backend::jit ? "jit" : "interp"; }

std::unique_ptr<Program> compile(std::vector<Value> outputs, Backend backend, const std::vector<InPlace>& in_place) {
    if (outputs.empty()) throw UserError("compile: no outputs given");
    if (backend == Backend::interp) return std::make_unique<Interpreter>(std::move(outputs), in_place);
    if (dumping("ir")) fmt::print(stderr, "---- graph ----\n{}", format_graph(outputs));
    jit::Plan plan = jit::fuse(std::move(outputs));
    if (dumping("fused")) fmt::print(stderr, "---- fused plan ----\n{}", jit::format_plan(plan));
    return std::make_unique<jit::JitProgram>(std::move(plan), in_place);
}

JitReport inspect_jit(std::vector<Value> outputs) {
    if (outputs.empty()) throw UserError("inspect_jit: no outputs given");
    const jit::Plan plan = jit::fuse(std::move(outputs));
    JitReport report;
    report.fused_plan = jit::format_plan(plan);
    jit::Engine& engine = jit::Engine::instance();
    for (std::size_t k = 0; k < plan.kernels.size(); ++k) {
        const jit::KernelListing listing = engine.inspect(plan.kernels[k].spec);
        report.llvm_ir += fmt::format("; ---- kernel {} ----\n{}", k, listing.llvm_ir);
        report.assembly += fmt::format("# ---- kernel {} ----\n{}", k, listing.assembly);
    }
    return report;
}

std::string jit_target_cpu() { return jit::Engine::instance().cpu(); }

}  // namespace nnjit
