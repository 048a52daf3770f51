#include "nnjit/graph.hpp"

#include <unordered_map>

#include "nnjit/error.hpp"

namespace nnjit {
namespace {

std::uint64_t mix(std::uint64_t h, std::uint64_t v) {
    // boost::hash_combine's recipe, widened to 64 bits.
    return h ^ (v + 0x9e3779b97f4a7c15ULL + (h << 12) + (h >> 4));
}

std::uint64_t hash_double(double v) {
    std::uint64_t bits;
    static_assert(sizeof bits == sizeof v);
    std::memcpy(&bits, &v, sizeof v);
    return bits;
}

std::uint64_t hash_tensor(const Tensor& t) {
    std::uint64_t h = mix(static_cast<std::uint64_t>(t.dtype()), static_cast<std::uint64_t>(t.numel()));
    for (double v : t.to_doubles()) h = mix(h, hash_double(v));
    return h;
}

}  // namespace

bool Attrs::operator==(const Attrs& o) const {
    if (hash_double(alpha) != hash_double(o.alpha) || axes != o.axes || keepdims != o.keepdims || name != o.name)
        return false;
    if (!literal || !o.literal) return literal == o.literal;
    return literal == o.literal || bitwise_equal(*literal, *o.literal);
}

struct Graph::Impl {
    std::vector<std::unique_ptr<Node>> nodes;
    std::unordered_multimap<std::uint64_t, const Node*> by_hash;
};

Graph::Graph() : impl_(std::make_shared<Impl>()) {}
Graph::~Graph() = default;

std::shared_ptr<const void> Graph::nodes_owner() const { return impl_; }

int Graph::size() const { return static_cast<int>(impl_->nodes.size()); }
const Node* Graph::node(int id) const { return impl_->nodes.at(static_cast<std::size_t>(id)).get(); }

const Node* Graph::make(Op op, DType dtype, Shape shape, std::vector<const Node*> inputs, Attrs attrs) {
    const OpInfo& info = op_info(op);
    if (info.kind != OpKind::Source && static_cast<int>(inputs.size()) != info.arity)
        throw InternalError(fmt::format("{}: made with {} inputs, expects {}", info.name, inputs.size(), info.arity));
    std::uint64_t h = mix(static_cast<std::uint64_t>(op), static_cast<std::uint64_t>(dtype));
    for (auto d : shape.dims()) h = mix(h, static_cast<std::uint64_t>(d));
    for (const Node* in : inputs) {
        if (in == nullptr) throw InternalError(fmt::format("{}: null input", info.name));
        h = mix(h, in->hash());
    }
    h = mix(h, hash_double(attrs.alpha));
    for (auto a : attrs.axes) h = mix(h, static_cast<std::uint64_t>(a));
    h = mix(h, attrs.keepdims);
    h = mix(h, std::hash<std::string>{}(attrs.name));
    if (attrs.literal) h = mix(h, hash_tensor(*attrs.literal));

    auto [first, last] = impl_->by_hash.equal_range(h);
    for (auto it = first; it != last; ++it) {
        const Node* n = it->second;
        if (n->op() == op && n->dtype() == dtype && n->shape() == shape &&
            std::equal(inputs.begin(), inputs.end(), n->inputs().begin(), n->inputs().end()) && n->attrs() == attrs)
            return n;
    }
    auto node = std::make_unique<Node>();
    node->op_ = op;
    node->dtype_ = dtype;
    node->shape_ = std::move(shape);
    node->inputs_ = std::move(inputs);
    node->attrs_ = std::move(attrs);
    node->hash_ = h;
    node->id_ = size();
    const Node* raw = node.get();
    impl_->nodes.push_back(std::move(node));
    impl_->by_hash.emplace(h, raw);
    return raw;
}

Value Graph::placeholder(Op op, std::string_view name, DType dtype, Shape shape) {
    if (name.empty()) throw UserError(fmt::format("{}: a name is required", op_name(op)));
    if (const Node* existing = find_placeholder(name)) {
        if (existing->op() != op || existing->dtype() != dtype || existing->shape() != shape)
            throw UserError(fmt::format("{} '{}' was declared as {} {} {} and is now asked for as {} {} {}",
                                        op_name(existing->op()), name, op_name(existing->op()), existing->dtype(),
                                        existing->shape(), op_name(op), dtype, shape));
        return Value(*this, existing);
    }
    Attrs attrs;
    attrs.name = std::string(name);
    return Value(*this, make(op, dtype, std::move(shape), {}, std::move(attrs)));
}

Value Graph::input(std::string_view name, DType dtype, Shape shape) {
    return placeholder(Op::Input, name, dtype, std::move(shape));
}

Value Graph::parameter(std::string_view name, DType dtype, Shape shape) {
    return placeholder(Op::Parameter, name, dtype, std::move(shape));
}

Value Graph::constant(double value, DType dtype) {
    Attrs attrs;
    attrs.alpha = value;
    return Value(*this, make(Op::Constant, dtype, Shape{}, {}, std::move(attrs)));
}

Value Graph::literal(Tensor value) {
    Attrs attrs;
    const DType dtype = value.dtype();
    Shape shape = value.shape();
    attrs.literal = std::make_shared<const Tensor>(value.contiguous());
    return Value(*this, make(Op::Literal, dtype, std::move(shape), {}, std::move(attrs)));
}

const Node* Graph::find_placeholder(std::string_view name) const {
    for (const auto& n : impl_->nodes)
        if ((n->op() == Op::Input || n->op() == Op::Parameter) && n->attrs().name == name) return n.get();
    return nullptr;
}

std::vector<const Node*> Graph::placeholders() const {
    std::vector<const Node*> out;
    for (const auto& n : impl_->nodes)
        if (n->op() == Op::Input || n->op() == Op::Parameter) out.push_back(n.get());
    return out;
}

std::vector<const Node*> reachable_nodes(std::span<const Value> outputs) {
    if (outputs.empty()) return {};
    const Graph& g = outputs.front().graph();
    std::vector<bool> seen(static_cast<std::size_t>(g.size()), false);
    std::vector<const Node*> stack;
    for (const Value& v : outputs) {
        if (&v.graph() != &g) throw UserError("outputs come from different graphs");
        stack.push_back(v.node());
    }
    while (!stack.empty()) {
        const Node* n = stack.back();
        stack.pop_back();
        if (seen[static_cast<std::size_t>(n->id())]) continue;
        seen[static_cast<std::size_t>(n->id())] = true;
        for (const Node* in : n->inputs()) stack.push_back(in);
    }
    std::vector<const Node*> order;
    for (int id = 0; id < g.size(); ++id)
        if (seen[static_cast<std::size_t>(id)]) order.push_back(g.node(id));
    return order;
}

std::string format_node(const Node& n) {
    std::string s = fmt::format("%{} = {}", n.id(), op_name(n.op()));
    const Attrs& a = n.attrs();
    switch (n.op()) {
    case Op::Input:
    case Op::Parameter: s += fmt::format(" \"{}\"", a.name); break;
    case Op::Constant: s += fmt::format(" {}", a.alpha); break;
    case Op::Literal: break;
    default: {
        std::vector<std::string> ins;
        for (const Node* in : n.inputs()) ins.push_back(fmt::format("%{}", in->id()));
        s += fmt::format(" {}", fmt::join(ins, ", "));
    }
    }
    if (n.op() == Op::LeakyRelu || n.op() == Op::Elu) s += fmt::format(", alpha={}", a.alpha);
    if (n.op() == Op::MatMulAcc) s += fmt::format(", beta={}", a.alpha);
    if (is_axis_reduction(n.op()))
        s += fmt::format(", axes=({}){}", fmt::join(a.axes, ", "), a.keepdims ? ", keepdims" : "");
    if (n.op() == Op::Transpose) s += fmt::format(", perm=({})", fmt::join(a.axes, ", "));
    if (n.op() == Op::Softmax || n.op() == Op::LogSoftmax) s += fmt::format(", axis={}", a.axes.at(0));
    return s + fmt::format(" : {} {}", n.dtype(), n.shape());
}

std::string format_graph(std::span<const Value> outputs) {
    std::string out;
    for (const Node* n : reachable_nodes(outputs)) {
        out += format_node(*n);
        for (std::size_t i = 0; i < outputs.size(); ++i)
            if (outputs[i].node() == n) out += fmt::format("  -> out{}", i);
        out += '\n';
    }
    return out;
}

}  // namespace nnjit
