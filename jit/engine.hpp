// The JIT engine: one process-wide LLJIT (KaleidoscopeJIT in spirit) that turns KernelSpecs
// into callable functions. Kernels are cached in memory, keyed on the kernel's canonical text
// plus the target (CPU, features, vector width) and LLVM version, so compiling the same
// kernel twice does no LLVM work; compiled objects are also kept on disk, so a new process
// loads instead of compiling. Safe to call from several threads. No LLVM in this header.
//
// Memory stays bounded however many graphs a process compiles: a kernel's code is shared by
// the plans that use it and by the in-memory cache, which keeps only the most recently used
// kernels; when the last of them lets go, the code is unloaded from the JIT.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "codegen.hpp"
#include "kernel.hpp"

namespace nnjit::jit {

// A compiled kernel: its entry point is callable while `code` (or a copy of it) lives.
struct CompiledKernel {
    KernelFn fn = nullptr;
    std::shared_ptr<const void> code;
};

struct EngineStats {
    std::uint64_t compiled = 0;     // kernels built by LLVM
    std::uint64_t memory_hits = 0;  // found in this process's cache
    std::uint64_t disk_hits = 0;    // loaded from the on-disk cache
    std::uint64_t loaded = 0;       // kernels whose code is in memory now
    std::uint64_t unloaded = 0;     // kernels whose code was freed since the start
    // Time spent, in microseconds, over all compiles: IR generation, optimisation, object
    // code, and loading (linking) objects into the JIT.
    double codegen_us = 0, optimise_us = 0, emit_us = 0, load_us = 0;
};

struct KernelListing {
    std::string llvm_ir;   // after optimisation
    std::string assembly;  // for the host
};

class Engine {
public:
    // The engine of this process, created on first use. Reads NNJIT_VECTOR_BITS (256 forces
    // AVX2-width vectors on an AVX-512 host), NNJIT_CACHE_DIR (a directory, or "off"),
    // XDG_CACHE_HOME / HOME (default directory) and NNJIT_DUMP (llvm, asm).
    static Engine& instance();

    // The in-memory cache keeps the code of this many recently used kernels loaded; older
    // kernels stay loaded only while a plan uses them.
    static constexpr std::size_t kCachedKernels = 256;

    CompiledKernel compile(const KernelSpec& spec);
    // The kernel if this process has it already (counted as a memory hit), else an empty one
    // (fn == nullptr): no disk access, no LLVM work.
    CompiledKernel find(const KernelSpec& spec);
    // Builds the kernel again to show what it compiles to (no caching).
    KernelListing inspect(const KernelSpec& spec);

    unsigned vector_bits() const;
    std::string target() const;  // CPU name, features and vector width, as the cache key has them
    std::string cpu() const;     // LLVM's name for the host CPU the kernels are tuned for (e.g. znver4)
    EngineStats stats() const;

    // The on-disk cache directory; empty disables it. Affects later compiles.
    void set_cache_dir(std::string dir);
    std::string cache_dir() const;
    // Forgets the in-memory cache (code that plans still use stays loaded, the rest is freed),
    // so the next compile of a kernel goes to the disk cache or to LLVM. For tests and
    // measurements.
    void clear_memory_cache();

    ~Engine();

private:
    Engine();
    struct Impl;
    Impl* impl_;
};

}  // namespace nnjit::jit
