// Builds a small random graph, its gradient included, from fuzz bytes: the differential
// fuzzer's generator. Every decision reads the next byte, so the same bytes give the same graph
// in float32 and in float64; once the bytes run out, a generator seeded by the input's length
// goes on. Values are float32-representable (the two graphs start from the same numbers) and
// include the edges of the approximations, zeros, subnormals, huge values, inf and NaN.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "nnjit/graph.hpp"
#include "nnjit/program.hpp"

namespace nnjit::fuzz {

struct FuzzGraph {
    std::vector<Value> outputs;  // the result, another node, then d(result . gy)/d(each input)
    Bindings bindings;
    bool elementwise_only = true;  // no reduction, matmul or softmax: engines agree bit for bit
};

FuzzGraph graph_from_bytes(std::span<const std::uint8_t> bytes, Graph& graph, DType dtype);

}  // namespace nnjit::fuzz
