// What the two code generators (codegen.cpp, normalize_codegen.cpp) share about the function
// they emit: its signature (KernelFn, codegen.hpp) and attributes, and the check of the
// finished module.
#pragma once

#include <memory>
#include <string>

#include <llvm/IR/Function.h>
#include <llvm/IR/Module.h>
#include <llvm/IR/Verifier.h>
#include <llvm/Support/raw_ostream.h>

#include <fmt/format.h>

#include "kernel.hpp"
#include "nnjit/error.hpp"

namespace nnjit::jit {

// An empty function `name` of KernelFn's type in `module`, for vectors of `vector_bits` bits.
inline llvm::Function* create_kernel_function(llvm::Module& module, const std::string& name, unsigned vector_bits) {
    llvm::LLVMContext& ctx = module.getContext();
    auto* i64 = llvm::Type::getInt64Ty(ctx);
    auto* ptr = llvm::PointerType::get(ctx, 0);
    auto* type = llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), {ptr, i64, i64, i64, i64}, false);
    auto* fn = llvm::Function::Create(type, llvm::Function::ExternalLinkage, name, &module);
    // Without this, Intel hosts get 256-bit code even from 512-bit vector types.
    fn->addFnAttr("prefer-vector-width", std::to_string(vector_bits));
    fn->addFnAttr("min-legal-vector-width", std::to_string(vector_bits));
    fn->addFnAttr(llvm::Attribute::NoUnwind);
    fn->addFnAttr(llvm::Attribute::NoFree);
    return fn;
}

// The finished module, or an InternalError naming the kernel when its IR is invalid.
inline std::unique_ptr<llvm::Module> verified(std::unique_ptr<llvm::Module> module, const KernelSpec& spec) {
    std::string problems;
    llvm::raw_string_ostream os(problems);
    if (llvm::verifyModule(*module, &os))
        throw InternalError(fmt::format("codegen made invalid IR for kernel {}: {}", spec.key(), os.str()));
    return module;
}

}  // namespace nnjit::jit
