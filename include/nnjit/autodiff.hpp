// Reverse-mode automatic differentiation as a graph-to-graph pass: the backward nodes are
// added to the same graph, so every engine runs them like any other node.
#pragma once

#include <span>
#include <vector>

#include "nnjit/graph.hpp"

namespace nnjit {

// Gradients of sum(y) with respect to each of `wrt`, each with its input's shape (dimensions
// that were broadcast are summed back). With `seed`, the cotangent of y is `seed` instead of
// ones (it must have y's shape). An input y does not depend on gets a gradient of zeros.
std::vector<Value> grad(Value y, std::span<const Value> wrt, Value seed = {});
inline Value grad(Value y, Value wrt, Value seed = {}) { return grad(y, std::span<const Value>(&wrt, 1), seed)[0]; }

}  // namespace nnjit
