// KernelSpec's canonical text and the stable hash of the kernel cache.
#include "kernel.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <limits>

namespace nnjit::jit {

std::int64_t KernelSpec::rows() const {
    std::int64_t r = 1;
    for (std::size_t d = 0; d + 1 < dims.size(); ++d) r *= dims[d];
    return r;
}

double KernelSpec::identity_of(Op combine) {
    const double inf = std::numeric_limits<double>::infinity();
    return combine == Op::Max ? -inf : combine == Op::Min ? inf : 0.0;
}

bool KernelSpec::is_indicator(const Reduction& r) const {
    const Instr& in = instrs[static_cast<std::size_t>(r.value)];
    return in.kind == Instr::Kind::op && (in.op == Op::Greater || in.op == Op::Equal);
}

bool KernelSpec::is_any(const Reduction& r) const { return r.combine == Op::Max && is_indicator(r); }

std::string KernelSpec::key() const {
    // Doubles as %a (exact): two constants that print alike are the same bits.
    // A one-dimensional loop's code does not depend on its length (the caller passes the
    // range), so every length shares one kernel; a softmax kernel's does not depend on its
    // number of rows.
    if (normalize != Normalize::none)
        return fmt::format("{} dims=(*,{}) {}{}", dtype_name(dtype), row_length(),
                           normalize == Normalize::softmax ? "softmax" : "log_softmax",
                           columns > 1 ? fmt::format(" columns={}", columns) : "");
    std::string s = dims.size() == 1 ? fmt::format("{} dims=(*)", dtype_name(dtype))
                                     : fmt::format("{} dims=({})", dtype_name(dtype), fmt::join(dims, ","));
    for (const auto& o : operands) s += fmt::format(" in({})", fmt::join(o, ","));
    for (std::size_t i = 0; i < instrs.size(); ++i) {
        const Instr& in = instrs[i];
        switch (in.kind) {
        case Instr::Kind::load: s += fmt::format(" %{}=load{}", i, in.operand); break;
        case Instr::Kind::constant: s += fmt::format(" %{}=c{:a}", i, in.value); break;
        case Instr::Kind::op:
            s += fmt::format(" %{}={}({})", i, op_name(in.op), fmt::join(in.args, ","));
            if (in.op == Op::LeakyRelu || in.op == Op::Elu) s += fmt::format("a{:a}", in.alpha);
            break;
        }
    }
    s += fmt::format(" store({})", fmt::join(stores, ","));
    for (const auto& r : reductions)
        s += fmt::format(" {}%{}({})", op_name(r.combine), r.value, fmt::join(r.acc_strides, ","));
    if (streaming_stores) s += " nt";
    return s;
}

std::uint64_t stable_hash(std::string_view text) {
    std::uint64_t h = 0xcbf29ce484222325ULL;
    for (unsigned char c : text) {
        h ^= c;
        h *= 0x100000001b3ULL;
    }
    return h;
}

}  // namespace nnjit::jit
