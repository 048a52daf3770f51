// A compiled graph, whatever engine runs it: tensors go in by placeholder name, the outputs
// come back in the order they were given.
//
// Threads: run() and run_into() may be called on one Program from any number of threads at
// once (each call has its own temporaries; tests/test_concurrency.cpp checks the results equal
// sequential runs). A Graph is not thread-safe: build and compile one graph from one thread
// at a time (different graphs on different threads are fine).
// Lifetime: a Program shares ownership of its graph's nodes and of the literal tensors in it,
// so the Graph and the caller's tensors may be destroyed before it; bound tensors are read
// only during the call they are passed to.
#pragma once

#include <map>
#include <span>
#include <string>
#include <vector>

#include "nnjit/graph.hpp"
#include "nnjit/tensor.hpp"

namespace nnjit {

using Bindings = std::map<std::string, Tensor, std::less<>>;

class Program {
public:
    virtual ~Program() = default;
    // Runs the graph. Throws UserError when a placeholder is unbound or bound to a tensor of
    // the wrong dtype or shape. Outputs never share storage with inputs the caller passed.
    virtual std::vector<Tensor> run(const Bindings& bindings) const = 0;

    // Runs the graph writing into caller-owned outputs, each already of the output's dtype and
    // shape and contiguous, so that repeated runs allocate nothing for their results. The
    // default runs run() and copies; an engine that can write in place overrides it.
    virtual void run_into(const Bindings& bindings, std::span<Tensor> outputs) const;
};

// The tensor bound to `placeholder`, checked against its dtype and shape.
const Tensor& bound_tensor(const Node& placeholder, const Bindings& bindings);

}  // namespace nnjit
