// The Op enumeration and per-op metadata, generated from ops.def.
#pragma once

#include <optional>
#include <span>
#include <string_view>

namespace nnjit {

enum class Op : unsigned char {
#define NNJIT_SOURCE(Name, name) Name,
#define NNJIT_ELEMENTWISE(Name, name, arity) Name,
#define NNJIT_STRUCTURAL(Name, name, arity) Name,
#include "nnjit/ops.def"
};

enum class OpKind : unsigned char { Source, Elementwise, Structural, Composite };

struct OpInfo {
    std::string_view name;
    OpKind kind;
    int arity;
};

// Metadata of a graph op.
const OpInfo& op_info(Op op);
inline std::string_view op_name(Op op) { return op_info(op).name; }
inline bool is_elementwise(Op op) { return op_info(op).kind == OpKind::Elementwise; }
// sum, mean, max, min: reduce the axes of attrs().axes.
inline bool is_axis_reduction(Op op) { return op == Op::Sum || op == Op::Mean || op == Op::Max || op == Op::Min; }

// Every entry of the table, graph ops and composites alike (for listings and the REPL).
std::span<const OpInfo> op_table();
// Looks an op up by its name (graph ops only; composites have no Op).
std::optional<Op> op_by_name(std::string_view name);

}  // namespace nnjit
