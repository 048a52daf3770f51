// to_graph(): an expression as IR, through the checking factories of graph_ops.hpp. The graph
// hash-conses its nodes, so a sub-expression that occurs twice (x in x * sigmoid(x)) becomes one
// node. Dynamic dimensions are resolved from the tensors bound to the placeholders; a tensor
// that does not fit, or an operand shape that does not, is a UserError from the factories.
//
// run(backend, bindings, e...) is the short way: to_graph, compile, run, outputs in order.
#pragma once

#include <vector>

#include "nnjit/engine.hpp"
#include "nnjit/expr/expression.hpp"
#include "nnjit/program.hpp"

namespace nnjit {

template <Expression E> Value to_graph(const E& e, Graph& graph, const Bindings& bindings = {}) {
    return e.emit(graph, bindings);
}

template <Expression... E>
    requires(sizeof...(E) > 0)
std::vector<Tensor> run(Backend backend, const Bindings& bindings, const E&... e) {
    Graph graph;
    std::vector<Value> outputs{to_graph(e, graph, bindings)...};
    return compile(std::move(outputs), backend)->run(bindings);
}

}  // namespace nnjit
