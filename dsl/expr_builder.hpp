// Turns a parsed expression into nodes of a Graph: names become inputs bound to the session's
// tensors, calls go through the table of built-in functions, numbers stay numbers (folded in
// double precision) until they meet a tensor, whose dtype they then take.
#pragma once

#include <cstdint>

#include "nnjit/graph.hpp"
#include "nnjit/parser.hpp"
#include "nnjit/program.hpp"

namespace nnjit::detail {

struct BuildContext {
    Graph& graph;
    const Bindings& variables;
    std::uint64_t seed;
    std::uint64_t& draws;       // advanced by each randn/rand
    std::int64_t max_elements;  // per constructed tensor
};

// Builds `e` (a number becomes a float32 constant). Throws EvalError at the failing node.
Value build_expression(const Expr& e, BuildContext& ctx);

}  // namespace nnjit::detail
