// fold_products(): one pass in topological order. Matching looks at the original nodes (their
// reader counts decide what may be folded); the replacement is built from the rewritten
// inputs, and every node downstream of a replacement is made again on the new inputs.
#include "nnjit/fold_products.hpp"

#include <optional>
#include <unordered_map>

#include "nnjit/graph_ops.hpp"

namespace nnjit {
namespace {

class Folder {
public:
    explicit Folder(std::span<const Value> outputs) : g_(outputs.front().graph()), order_(reachable_nodes(outputs)) {
        for (const Node* n : order_)
            for (const Node* in : n->inputs()) ++readers_[in];
        for (const Value& v : outputs) ++readers_[v.node()];  // an output is read by the caller
    }

    std::vector<Value> run(std::span<const Value> outputs) {
        for (const Node* n : order_) {
            if (auto folded = fold(*n)) {
                rebuilt_[n] = *folded;
                continue;
            }
            bool changed = false;
            std::vector<const Node*> inputs;
            for (const Node* in : n->inputs()) {
                inputs.push_back(now(in).node());
                changed = changed || inputs.back() != in;
            }
            if (changed) rebuilt_[n] = Value(g_, g_.make(n->op(), n->dtype(), n->shape(), std::move(inputs), n->attrs()));
        }
        std::vector<Value> out;
        for (const Value& v : outputs) out.push_back(now(v.node()));
        return out;
    }

private:
    struct Product {
        const Node* matmul;
        const Node* scale;  // a scalar node, or nullptr for 1
    };
    struct Accumulator {
        const Node* c;
        double beta;
    };

    Graph& g_;
    std::vector<const Node*> order_;
    std::unordered_map<const Node*, int> readers_;
    std::unordered_map<const Node*, Value> rebuilt_;

    Value now(const Node* n) const {
        const auto it = rebuilt_.find(n);
        return it == rebuilt_.end() ? Value(g_, n) : it->second;
    }
    bool read_once(const Node* n) const { return readers_.at(n) == 1; }

    // The scalar a node broadcasts (the node itself when it is a scalar), or nullptr.
    static const Node* scalar_of(const Node* n) {
        if (n->shape().rank() == 0) return n;
        if (n->op() == Op::BroadcastTo && n->input(0)->shape().rank() == 0) return n->input(0);
        return nullptr;
    }

    // `t` as (a @ b) or s * (a @ b), read by nothing but the sum being folded.
    std::optional<Product> product(const Node* t) const {
        if (!read_once(t)) return std::nullopt;
        if (t->op() == Op::MatMul) return Product{t, nullptr};
        if (t->op() != Op::Mul) return std::nullopt;
        for (int i = 0; i < 2; ++i) {
            const Node* p = t->input(i);
            const Node* s = scalar_of(t->input(1 - i));
            if (p->op() == Op::MatMul && read_once(p) && s != nullptr && p->dtype() == t->dtype()) return Product{p, s};
        }
        return std::nullopt;
    }

    // `c` as a whole matrix, or k * c with a constant k (BLAS's beta).
    static std::optional<Accumulator> accumulator(const Node* c) {
        const auto whole = [&](const Node* n) { return n->op() != Op::BroadcastTo && n->shape() == c->shape(); };
        if (c->op() == Op::Mul)
            for (int i = 0; i < 2; ++i) {
                const Node* k = scalar_of(c->input(1 - i));
                if (k != nullptr && k->op() == Op::Constant && whole(c->input(i)))
                    return Accumulator{c->input(i), k->attrs().alpha};
            }
        if (whole(c)) return Accumulator{c, 1.0};
        return std::nullopt;
    }

    std::optional<Value> fold(const Node& n) {
        if ((n.op() != Op::Add && n.op() != Op::Sub) || n.shape().rank() != 2) return std::nullopt;
        // c + p, p + c, c - p.
        for (int term = 1; term >= (n.op() == Op::Add ? 0 : 1); --term) {
            const auto p = product(n.input(term));
            const auto acc = accumulator(n.input(1 - term));
            if (!p || !acc || p->matmul->dtype() != n.dtype() || acc->c->dtype() != n.dtype()) continue;
            const double sign = n.op() == Op::Sub ? -1.0 : 1.0;
            Value s = p->scale != nullptr ? now(p->scale) : g_.constant(sign, n.dtype());
            if (p->scale != nullptr && sign < 0) s = neg(s);
            return matmul_acc(now(p->matmul->input(0)), now(p->matmul->input(1)), now(acc->c), s, acc->beta);
        }
        return std::nullopt;
    }
};

}  // namespace

std::vector<Value> fold_products(std::span<const Value> outputs) {
    if (outputs.empty()) return {};
    return Folder(outputs).run(outputs);
}

}  // namespace nnjit
