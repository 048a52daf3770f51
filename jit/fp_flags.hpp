// MXCSR's sticky exception flags, which the kernels read as guards for counts that are rarely
// needed (codegen.cpp, "MXCSR's sticky flags as guards") instead of testing every vector.
#pragma once

#include <cstdint>

namespace nnjit::jit {

// MXCSR bits: the invalid flag (IE: an invalid operation, or a signaling compare of a NaN),
// the underflow flag (UE: a tiny and inexact result) and the denormals-are-zero mode (DAZ).
constexpr std::uint32_t kMxcsrInvalidFlag = 0x01;
constexpr std::uint32_t kMxcsrUnderflowFlag = 0x10;
constexpr std::uint32_t kMxcsrDenormalsAreZero = 0x40;

// Whether an underflow and an invalid operation raise their flags on this machine, tried once:
// a real x86 core does; valgrind keeps no exception flags (its MXCSR reads them as clear),
// where the kernels must compare instead; NNJIT_FP_FLAGS=off makes it false. Part of the
// engine's target (a kernel built on one is wrong on the other).
bool fp_flags_work();

}  // namespace nnjit::jit
