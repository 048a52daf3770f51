// compile(): the one place that picks an engine for a graph.
#include "nnjit/engine.hpp"
#include "nnjit/error.hpp"
#include "nnjit/interpreter.hpp"

namespace nnjit {

std::string_view backend_name(Backend backend) { return backend == Backend::jit ? "jit" : "interp"; }

std::unique_ptr<Program> compile(std::vector<Value> outputs, Backend backend) {
    if (outputs.empty()) throw UserError("compile: no outputs given");
    if (backend == Backend::interp) return std::make_unique<Interpreter>(std::move(outputs));
    throw UserError("the JIT backend is not built yet");
}

JitReport inspect_jit(std::vector<Value>) { throw UserError("the JIT backend is not built yet"); }

}  // namespace nnjit
