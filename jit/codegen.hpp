// Codegen: lowers one KernelSpec to one LLVM function, an explicitly vectorised loop nest.
// Declared without LLVM headers so that only the two LLVM translation units see them.
#pragma once

#include <memory>
#include <string>

#include "kernel.hpp"

namespace llvm {
class LLVMContext;
class Module;
}  // namespace llvm

namespace nnjit::jit {

// The signature of every generated kernel: args holds the operands' base pointers, then the
// outputs', then the accumulators' (float64, or bytes for a max of a comparison: see
// KernelSpec::is_any). The kernel runs rows [row_begin, row_end) of the
// domain and, within each row, elements [col_begin, col_end).
using KernelFn = void (*)(void* const* args, std::int64_t row_begin, std::int64_t row_end, std::int64_t col_begin,
                          std::int64_t col_end);

// A module holding one function `name` computing `spec` with vectors of `vector_bits` bits.
std::unique_ptr<llvm::Module> generate_kernel(llvm::LLVMContext& context, const KernelSpec& spec,
                                              const std::string& name, unsigned vector_bits);
// The same for a kernel with spec.normalize set (normalize_codegen.cpp); generate_kernel
// passes such kernels on to it.
std::unique_ptr<llvm::Module> generate_normalize_kernel(llvm::LLVMContext& context, const KernelSpec& spec,
                                                        const std::string& name, unsigned vector_bits);

}  // namespace nnjit::jit
