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

// An output that may be written over one of the program's inputs, declared when compiling:
// run_into may then be given the same tensor as that input and as that output (a training
// step updating its parameters and optimizer state where they are, with no second buffer and
// no copy). The engine orders every read of the input before the write over it; where no
// order can (a later step reads both the input and the new value) or the step computing the
// output cannot write over its own operand, the output is computed into a temporary and
// copied over the input at the end of the run. Either way the results are those of a run
// with separate tensors. Passing separate tensors stays allowed.
struct InPlace {
    std::size_t output;  // index into the outputs
    std::string input;   // name of the input (placeholder) it may be written over
};

class Program {
public:
    virtual ~Program() = default;
    // Runs the graph. Throws UserError when a placeholder is unbound or bound to a tensor of
    // the wrong dtype or shape. Outputs never share storage with inputs the caller passed.
    virtual std::vector<Tensor> run(const Bindings& bindings) const = 0;

    // Runs the graph writing into caller-owned outputs, each already of the output's dtype and
    // shape and contiguous, so that repeated runs allocate nothing for their results. An
    // output may share memory with an input only as declared by InPlace, and then only as the
    // very same tensor: anything else is a UserError. The default runs run() and copies; an
    // engine that can write in place overrides it.
    virtual void run_into(const Bindings& bindings, std::span<Tensor> outputs) const;

    // The placeholders (inputs and parameters) the outputs depend on, sorted by name: the
    // order in which the positional run_into takes its tensors.
    std::span<const std::string> input_names() const { return input_names_; }
    // As run_into(bindings, outputs), with inputs[i] bound to input_names()[i]: no lookup by
    // name, for a program run many times (a training step, an inference plan). The same
    // checks and errors; a null pointer is an unbound placeholder. The default looks the
    // names up; the engines override it.
    virtual void run_into(std::span<const Tensor* const> inputs, std::span<Tensor> outputs) const;

    // Per output: the index in input_names() of the input it may be written over, or -1.
    std::span<const int> in_place_inputs() const { return in_place_; }

protected:
    // Records what the checks below need: the placeholders the outputs depend on, the outputs,
    // the outputs that may be written over inputs (a UserError for an output index out of
    // range, a name that is no input of the program, a dtype or shape that differs, an output
    // or an input declared twice).
    Program(std::span<const Value> outputs, std::span<const InPlace> in_place);
    Program(const Program&) = delete;
    Program& operator=(const Program&) = delete;

    // The placeholders in input_names() order.
    std::span<const Node* const> placeholder_nodes() const { return placeholders_; }
    // The tensor bound to each placeholder, in input_names() order; both the map and the
    // names are sorted, so this is one pass over each. Checked as check_inputs() does.
    void find_inputs(const Bindings& bindings, std::span<const Tensor*> inputs) const;
    // A UserError for a wrong count, an unbound placeholder (null) or a tensor of the wrong
    // dtype or shape; placeholders are checked in graph order, so the first one a reader of
    // the graph meets is the one named.
    void check_inputs(std::span<const Tensor* const> inputs) const;
    // A UserError unless `outputs` are as many as the program's, each contiguous and of its
    // output's dtype and shape, and none shares memory with an input (checked) other than as
    // in_place_inputs() allows: the very same tensor.
    void check_outputs(std::span<const Tensor> outputs, std::span<const Tensor* const> inputs) const;

private:
    std::vector<const Node*> placeholders_;  // sorted by name
    std::vector<std::string> input_names_;
    std::vector<std::size_t> check_order_;   // indices into placeholders_, in graph order
    std::vector<const Node*> output_nodes_;
    std::vector<int> in_place_;  // per output
};

// The tensor bound to `placeholder`, checked against its dtype and shape.
const Tensor& bound_tensor(const Node& placeholder, const Bindings& bindings);

}  // namespace nnjit
