#include "nnjit/op.hpp"

#include <array>

namespace nnjit {
namespace {

constexpr std::array kTable = {
#define NNJIT_SOURCE(Name, name) OpInfo{name, OpKind::Source, 0},
#define NNJIT_ELEMENTWISE(Name, name, arity) OpInfo{name, OpKind::Elementwise, arity},
#define NNJIT_STRUCTURAL(Name, name, arity) OpInfo{name, OpKind::Structural, arity},
#define NNJIT_COMPOSITE(Name, name, arity) OpInfo{name, OpKind::Composite, arity},
#include "nnjit/ops.def"
};

}  // namespace

const OpInfo& op_info(Op op) { return kTable[static_cast<std::size_t>(op)]; }

std::span<const OpInfo> op_table() { return kTable; }

std::optional<Op> op_by_name(std::string_view name) {
    for (std::size_t i = 0; i < kTable.size(); ++i)
        if (kTable[i].name == name && kTable[i].kind != OpKind::Composite) return static_cast<Op>(i);
    return std::nullopt;
}

}  // namespace nnjit
