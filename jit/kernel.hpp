// A fused kernel as the code generator sees it: one loop nest over a (coalesced) domain,
// a straight-line list of instructions per element, the values it stores and the sums it
// accumulates. It names no graph node, so it is canonical: two graphs that fuse to the same
// computation give equal KernelSpecs, and key() is what the kernel cache is keyed on.
// No LLVM here: fusion builds these, codegen lowers them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "nnjit/dtype.hpp"
#include "nnjit/op.hpp"

namespace nnjit::jit {

struct KernelSpec {
    // One value per element of the domain.
    struct Instr {
        enum class Kind : unsigned char { load, constant, op };
        Kind kind = Kind::op;
        int operand = -1;        // load: which operand
        double value = 0;        // constant: its value (rounded to the dtype in the code)
        Op op = Op::Add;         // op: an elementwise op of the table, run by its rule
        std::vector<int> args;   // op: earlier instructions
        double alpha = 0;        // op: the node's alpha (leaky_relu, elu)
    };
    // One instruction's values summed (or their max or min taken) into an accumulator buffer
    // (float64, or bytes: is_any) whose layout over the domain is given by strides (0 along
    // the reduced dimensions).
    struct Reduction {
        int value = -1;
        std::vector<std::int64_t> acc_strides;
        Op combine = Op::Sum;  // Sum (a mean is a sum the executor scales), Max or Min
    };
    // What an accumulator of `combine` starts from: 0 to add to, or the infinity any value replaces.
    static double identity_of(Op combine);
    // Whether r's value is a 0/1 comparison (greater or equal).
    bool is_indicator(const Reduction& r) const;
    // Whether r is a max of a comparison (whether any element is counted: the diagnostics'
    // active units). Its buffer holds one byte per result, 0 or 1, that the caller starts at 0
    // (a max is never of nothing, so the identity -inf is never the answer). A float64 per
    // unit was 8 KiB for a 1024-unit layer, read and written after every call's loop had
    // pushed it out of L1 and L2: about a point of the probed ReLU kernel's cost over the
    // plain one at 128x1024 (Zen 5, docs/relu-story.md).
    bool is_any(const Reduction& r) const;

    DType dtype = DType::f32;
    // The iteration domain, outermost first, after merging dimensions that every operand,
    // output and accumulator walks contiguously. At least one dimension.
    std::vector<std::int64_t> dims;
    // Element strides over dims of each operand read (0: broadcast, read in place).
    std::vector<std::vector<std::int64_t>> operands;
    std::vector<Instr> instrs;
    // Instructions written to an output, each a fresh contiguous tensor of the domain's size.
    std::vector<int> stores;
    std::vector<Reduction> reductions;
    // Full vectors are stored non-temporally (past the caches) where the outputs are aligned
    // to the vector size; only for one-dimensional kernels. Fusion leaves it off; the executor
    // sets it for kernels whose arrays are larger than the last-level cache.
    bool streaming_stores = false;
    // Not a loop of instructions: softmax or log_softmax within each row (dims (rows, length),
    // one operand read with strides (length, 1), one store), as normalize_codegen.cpp generates
    // it. A row holds `columns` slices side by side, element a of slice j at a * columns + j:
    // 1 along the last axis, the size of the axes after it along another.
    enum class Normalize : unsigned char { none, softmax, log_softmax };
    Normalize normalize = Normalize::none;
    std::int64_t columns = 1;

    std::int64_t rows() const;      // product of all dims but the innermost
    std::int64_t row_length() const { return dims.back(); }
    std::int64_t numel() const { return rows() * row_length(); }

    // Canonical text of everything that affects the generated code.
    std::string key() const;
};

// FNV-1a, 64 bits: stable across runs and builds (std::hash is not promised to be).
std::uint64_t stable_hash(std::string_view text);

}  // namespace nnjit::jit
