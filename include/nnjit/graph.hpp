// The graph IR: immutable, hash-consed nodes owned by a Graph. Building the same op on the
// same inputs twice gives the same node. Node ids follow creation order, so they are a
// topological order. Nodes are made by the checking factories in graph_ops.hpp.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "nnjit/dtype.hpp"
#include "nnjit/op.hpp"
#include "nnjit/shape.hpp"
#include "nnjit/tensor.hpp"

namespace nnjit {

// What an op needs besides its inputs.
struct Attrs {
    double alpha = 0;                   // leaky_relu / elu slope; the value of a constant; matmul_acc beta
    std::vector<std::int64_t> axes;     // reduced axes (sorted), transpose permutation, softmax axis
    bool keepdims = false;              // sum / mean
    std::string name;                   // input / parameter
    std::shared_ptr<const Tensor> literal;

    bool operator==(const Attrs& other) const;
};

class Node {
public:
    Op op() const { return op_; }
    DType dtype() const { return dtype_; }
    const Shape& shape() const { return shape_; }
    std::span<const Node* const> inputs() const { return inputs_; }
    const Node* input(int i) const { return inputs_[static_cast<std::size_t>(i)]; }
    const Attrs& attrs() const { return attrs_; }
    std::uint64_t hash() const { return hash_; }
    int id() const { return id_; }  // position in creation (= topological) order

private:
    friend class Graph;
    Op op_;
    DType dtype_;
    Shape shape_;
    std::vector<const Node*> inputs_;
    Attrs attrs_;
    std::uint64_t hash_ = 0;
    int id_ = 0;
};

class Graph;

// A handle to a node of a graph, what the builder functions take and return.
class Value {
public:
    Value() = default;
    Value(Graph& graph, const Node* node) : graph_(&graph), node_(node) {}

    Graph& graph() const { return *graph_; }
    const Node* node() const { return node_; }
    DType dtype() const { return node_->dtype(); }
    const Shape& shape() const { return node_->shape(); }
    explicit operator bool() const { return node_ != nullptr; }
    friend bool operator==(const Value& a, const Value& b) { return a.node_ == b.node_; }

private:
    Graph* graph_ = nullptr;
    const Node* node_ = nullptr;
};

class Graph {
public:
    Graph();
    ~Graph();
    Graph(const Graph&) = delete;
    Graph& operator=(const Graph&) = delete;

    // Placeholders, bound to tensors by name when the graph runs. Asking again for the same
    // name returns the same node; a different dtype or shape for that name is a UserError.
    Value input(std::string_view name, DType dtype, Shape shape);
    Value parameter(std::string_view name, DType dtype, Shape shape);
    Value constant(double value, DType dtype = DType::f32);  // a scalar
    Value literal(Tensor value);                             // a tensor held by the graph

    // Interns a node (no checks beyond internal consistency): use the factories instead.
    const Node* make(Op op, DType dtype, Shape shape, std::vector<const Node*> inputs, Attrs attrs = {});

    int size() const;
    const Node* node(int id) const;
    // The input or parameter of that name, or nullptr.
    const Node* find_placeholder(std::string_view name) const;
    // Every input and parameter, in creation order.
    std::vector<const Node*> placeholders() const;

    // Shared ownership of the nodes. A Program holds it, so a Graph may be destroyed before
    // the Programs compiled from it.
    std::shared_ptr<const void> nodes_owner() const;

private:
    Value placeholder(Op op, std::string_view name, DType dtype, Shape shape);
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

// Nodes reachable from `outputs`, in topological order.
std::vector<const Node*> reachable_nodes(std::span<const Value> outputs);

// One line per node reachable from `outputs`: `%3 = add %1, %2 : float32 (2, 3)`; outputs are
// marked `-> out0`, `-> out1`, ...
std::string format_graph(std::span<const Value> outputs);
// One node: `%3 = add %1, %2 : float32 (2, 3)`.
std::string format_node(const Node& node);

}  // namespace nnjit
