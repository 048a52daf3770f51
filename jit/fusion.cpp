// fuse(): one pass over the graph in topological order.
//
// Grouping is greedy: an elementwise node joins the groups of its elementwise inputs unless
// that would make a group depend on itself through a materialised node (a node outside the
// group that reads the group and is read by it, e.g. exp -> sum -> div(exp, sum)). To know
// that, every group records the groups it reads directly; the check follows those edges at
// query time, so it stays right as groups grow and merge. Then groups over the same domain
// that read the same array merge too, when neither depends on the other (merge_siblings).
#include "fusion.hpp"

#include <algorithm>
#include <cstring>
#include <map>
#include <optional>
#include <queue>
#include <set>
#include <span>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "nnjit/error.hpp"
#include "nnjit/op_rules.hpp"
#include "nnjit/scalar_math.hpp"

namespace nnjit::jit {
namespace {

struct View {
    const Node* source = nullptr;
    std::vector<std::int64_t> strides;
};

// An elementwise op on constants, computed now exactly as the interpreter would compute it.
template <class T, class R, std::size_t... I>
double fold_rule(const std::vector<double>& in, double alpha, std::index_sequence<I...>) {
    ScalarMath<T> m;
    if constexpr (rules::takes_alpha<R>) return static_cast<double>(R::forward(m, static_cast<T>(in[I])..., alpha));
    else return static_cast<double>(R::forward(m, static_cast<T>(in[I])...));
}

double fold(Op op, DType dtype, const std::vector<double>& in, double alpha) {
    switch (op) {
#define NNJIT_ELEMENTWISE(Name, name, arity)                                                                   \
    case Op::Name:                                                                                             \
        return dtype == DType::f64 ? fold_rule<double, rules::Name>(in, alpha, std::make_index_sequence<arity>{}) \
                                   : fold_rule<float, rules::Name>(in, alpha, std::make_index_sequence<arity>{});
#include "nnjit/ops.def"
    default: break;
    }
    throw InternalError(fmt::format("fusion: cannot fold {}", op_name(op)));
}

// Strides equal to the row-major ones of `shape`, ignoring dimensions of size 1.
bool is_contiguous_view(const Shape& shape, const std::vector<std::int64_t>& strides) {
    const auto want = contiguous_strides(shape);
    for (int d = 0; d < shape.rank(); ++d)
        if (shape[d] != 1 && strides[static_cast<std::size_t>(d)] != want[static_cast<std::size_t>(d)]) return false;
    return true;
}

class Fuser {
public:
    explicit Fuser(std::vector<Value> outputs) {
        plan_.outputs = std::move(outputs);
        plan_.order = reachable_nodes(plan_.outputs);
        const auto& order = plan_.order;
        const Graph& g = plan_.outputs.front().graph();
        pos_.assign(static_cast<std::size_t>(g.size()), -1);
        for (std::size_t i = 0; i < order.size(); ++i) pos_[static_cast<std::size_t>(order[i]->id())] = static_cast<int>(i);
        const std::size_t n = order.size();
        constant_.resize(n);
        group_.assign(n, -1);
        node_deps_.resize(n);
        consumers_.resize(n);
        step_of_.assign(n, -1);
        view_.resize(n);
        for (std::size_t i = 0; i < n; ++i)
            for (const Node* in : order[i]->inputs()) consumers_[at(in)].push_back(order[i]);
    }

    Plan run() {
        fold_constants();
        form_groups();
        merge_siblings();
        recompute_in_readers();
        classify();
        build_kernels();
        order_steps();
        return std::move(plan_);
    }

private:
    Plan plan_;
    std::vector<int> pos_;
    std::vector<std::optional<double>> constant_;
    std::vector<int> group_;                    // raw group id of members and fused reductions
    std::vector<std::set<int>> node_deps_;      // non-members: groups read directly
    std::vector<std::vector<const Node*>> consumers_;
    std::vector<int> parent_;                   // union-find over group ids
    std::vector<std::set<int>> group_deps_;     // per group: groups its members read directly
    std::vector<std::optional<View>> view_;
    std::vector<int> step_of_;                  // per position: the step producing it, or -1
    std::vector<bool> stored_;
    std::vector<bool> is_output_;               // per position: an output of the plan

    std::size_t at(const Node* n) const { return static_cast<std::size_t>(pos_[static_cast<std::size_t>(n->id())]); }
    bool is_member(const Node* n) const { return group_[at(n)] >= 0 && is_elementwise(n->op()); }

    int find(int g) {
        while (parent_[static_cast<std::size_t>(g)] != g) {
            parent_[static_cast<std::size_t>(g)] = parent_[static_cast<std::size_t>(parent_[static_cast<std::size_t>(g)])];
            g = parent_[static_cast<std::size_t>(g)];
        }
        return g;
    }
    int new_group(std::set<int> deps) {
        parent_.push_back(static_cast<int>(parent_.size()));
        group_deps_.push_back(std::move(deps));
        return parent_.back();
    }

    void fold_constants() {
        for (const Node* n : plan_.order) {
            auto& c = constant_[at(n)];
            if (n->op() == Op::Constant) c = n->attrs().alpha;
            else if (n->op() == Op::BroadcastTo || n->op() == Op::Reshape || n->op() == Op::Transpose) c = constant_[at(n->input(0))];
            else if (is_elementwise(n->op())) {
                std::vector<double> in;
                for (const Node* x : n->inputs())
                    if (constant_[at(x)]) in.push_back(*constant_[at(x)]);
                if (in.size() == n->inputs().size()) c = fold(n->op(), n->dtype(), in, n->attrs().alpha);
            } else if (n->op() == Op::Cast && constant_[at(n->input(0))]) {
                const double v = *constant_[at(n->input(0))];
                c = n->input(0)->dtype() == DType::f32 ? static_cast<double>(static_cast<float>(v)) : v;
            }
        }
    }

    // The groups a consumer outside `n`'s group depends on by reading n.
    std::set<int> contribution(const Node* n) {
        if (group_[at(n)] >= 0) return {find(group_[at(n)])};
        std::set<int> out;
        for (int g : node_deps_[at(n)]) out.insert(find(g));
        return out;
    }

    // Every group reachable from `start` through group dependencies.
    std::set<int> closure(const std::set<int>& start) {
        std::set<int> seen;
        std::vector<int> stack(start.begin(), start.end());
        while (!stack.empty()) {
            const int g = find(stack.back());
            stack.pop_back();
            if (!seen.insert(g).second) continue;
            for (int d : group_deps_[static_cast<std::size_t>(g)]) stack.push_back(d);
        }
        return seen;
    }

    void form_groups() {
        for (const Node* n : plan_.order) {
            const std::size_t p = at(n);
            if (constant_[p]) continue;
            if (is_elementwise(n->op())) {
                std::set<int> reach;  // what n depends on besides the groups it may join
                std::set<int> input_groups;
                for (const Node* in : n->inputs()) {
                    if (is_member(in)) {
                        const int g = find(group_[at(in)]);
                        input_groups.insert(g);
                        for (int d : group_deps_[static_cast<std::size_t>(g)]) reach.insert(d);
                    } else {
                        for (int d : contribution(in)) reach.insert(d);
                    }
                }
                const std::set<int> blocked = closure(reach);
                std::vector<int> join;
                std::set<int> direct;
                for (int g : input_groups) {
                    if (blocked.contains(g)) direct.insert(g);
                    else join.push_back(g);
                }
                for (const Node* in : n->inputs())
                    if (!is_member(in) || !std::count(join.begin(), join.end(), find(group_[at(in)])))
                        for (int d : contribution(in)) direct.insert(d);
                if (join.empty()) {
                    group_[p] = new_group(std::move(direct));
                } else {
                    const int root = join.front();
                    for (int g : join) {
                        for (int d : group_deps_[static_cast<std::size_t>(g)]) direct.insert(d);
                        parent_[static_cast<std::size_t>(g)] = root;
                    }
                    std::set<int> deps;
                    for (int d : direct)
                        if (find(d) != root) deps.insert(find(d));
                    group_deps_[static_cast<std::size_t>(root)] = std::move(deps);
                    group_[p] = root;
                }
            } else if (is_axis_reduction(n->op())) {
                const Node* in = n->input(0);
                // The epilogue of the loop that computes the input, or a loop of its own.
                if (is_member(in)) group_[p] = find(group_[at(in)]);
                else group_[p] = new_group(contribution(in));
            } else {
                std::set<int> deps;
                for (const Node* in : n->inputs())
                    for (int d : contribution(in)) deps.insert(d);
                node_deps_[p] = std::move(deps);
            }
        }
        for (auto& g : group_)
            if (g >= 0) g = find(g);
    }

    // Groups that read the same array over the same domain become one loop that reads it once:
    // a gradient that reads x rather than the forward output (leaky_relu's where(x > 0, gy,
    // alpha gy)) joins the forward kernel, sum(x) joins relu(x). Not when one group depends on
    // the other (the backward kernel of a layer on its forward one), and not for arrays read by
    // broadcast, which cost little to read twice. Candidates go in graph order: deterministic.
    void merge_siblings() {
        std::map<std::size_t, std::vector<int>> readers;  // by the array's position in the order
        std::map<int, std::pair<Shape, DType>> domain;    // per group
        for (const Node* n : plan_.order) {
            const std::size_t p = at(n);
            if (group_[p] < 0) continue;
            const int g = find(group_[p]);
            // A reduction reads its input over the input's domain; an elementwise node its own.
            const Node* const reduced = is_axis_reduction(n->op()) ? n->input(0) : nullptr;
            const Node* const body = reduced ? reduced : n;
            domain.try_emplace(g, body->shape(), body->dtype());
            const std::span<const Node* const> reads = reduced ? std::span(&reduced, 1) : n->inputs();
            for (const Node* in : reads) {
                const std::size_t q = at(in);
                if (constant_[q] || in->op() == Op::BroadcastTo || in->shape() != body->shape()) continue;
                if (is_member(in) && find(group_[q]) == g) continue;
                auto& groups = readers[q];
                if (std::find(groups.begin(), groups.end(), g) == groups.end()) groups.push_back(g);
            }
        }
        for (const auto& [array, groups] : readers)
            for (std::size_t i = 1; i < groups.size(); ++i) {
                const int a = find(groups.front()), b = find(groups[i]);
                if (a == b || domain.at(groups.front()) != domain.at(groups[i])) continue;
                if (closure(group_deps_[static_cast<std::size_t>(a)]).contains(b) ||
                    closure(group_deps_[static_cast<std::size_t>(b)]).contains(a))
                    continue;
                std::set<int> deps;
                for (int d : group_deps_[static_cast<std::size_t>(a)]) deps.insert(find(d));
                for (int d : group_deps_[static_cast<std::size_t>(b)]) deps.insert(find(d));
                parent_[static_cast<std::size_t>(b)] = a;
                deps.erase(a);
                group_deps_[static_cast<std::size_t>(a)] = std::move(deps);
            }
        for (auto& g : group_)
            if (g >= 0) g = find(g);
    }

    // Ops cheaper to compute again than to write and read back: no transcendental, no division.
    static bool is_cheap(Op op) {
        switch (op) {
        case Op::Neg: case Op::Abs: case Op::Relu: case Op::LeakyRelu: case Op::Add: case Op::Sub: case Op::Mul:
        case Op::Maximum: case Op::Minimum: case Op::Greater: case Op::Equal: case Op::Where: return true;
        default: return false;
        }
    }

    // A cheap node that only one other kernel reads - ReLU's mask y > 0, sigmoid's y (1 - y),
    // both computed from the forward output for the backward pass - would be written by the
    // kernel of its inputs and read back by its reader. Its reader computes it instead, from
    // values that are stored anyway (y: the next layer's matmul reads it), so the forward pass
    // keeps nothing for the backward pass but its output. Consumers come first (reverse
    // order), so a chain of such nodes moves as a whole. Safe: the reader already depends on
    // the kernel it takes the node from, and on everything that kernel reads.
    void recompute_in_readers() {
        std::vector<bool>& is_output = is_output_;
        is_output.assign(plan_.order.size(), false);
        for (const Value& v : plan_.outputs) is_output[at(v.node())] = true;
        for (auto it = plan_.order.rbegin(); it != plan_.order.rend(); ++it) {
            const Node* n = *it;
            const std::size_t p = at(n);
            if (!is_member(n) || is_output[p] || !is_cheap(n->op()) || consumers_[p].empty()) continue;
            int reader = -1;
            bool one_reader = true;
            for (const Node* c : consumers_[p]) {
                const int g = group_[at(c)];
                if (g < 0 || g == group_[p] || (reader >= 0 && g != reader)) one_reader = false;
                reader = g;
            }
            if (one_reader && inputs_stay_cheap(n, reader)) group_[p] = reader;
        }
    }

    // True when moving `n` to `reader` stores no more than it saves: each input is stored
    // anyway, or is not a member of n's kernel, except at most one cheap input that only n
    // and the reader use (it moves next, or is stored in n's place).
    bool inputs_stay_cheap(const Node* n, int reader) const {
        const int home = group_[at(n)];
        int pending = 0;
        for (const Node* in : n->inputs()) {
            if (!is_member(in) || group_[at(in)] != home) continue;
            bool stored_anyway = is_output_[at(in)], only_n_and_reader = true;
            for (const Node* c : consumers_[at(in)]) {
                if (c == n) continue;
                if (group_[at(c)] != home) stored_anyway = true;
                if (group_[at(c)] != reader) only_n_and_reader = false;
            }
            if (stored_anyway) continue;
            if (!only_n_and_reader || !is_cheap(in->op())) return false;
            ++pending;
        }
        return pending <= 1;
    }

    // Which members are written, which nodes are views, which run as interpreter steps.
    void classify() {
        const auto& order = plan_.order;
        stored_.assign(order.size(), false);
        std::vector<bool> is_output(order.size(), false);
        for (const Value& v : plan_.outputs) is_output[at(v.node())] = true;
        for (const Node* n : order) {
            const std::size_t p = at(n);
            if (!is_member(n)) continue;
            bool store = is_output[p];
            for (const Node* c : consumers_[p])
                if (group_[at(c)] != group_[p]) store = true;
            stored_[p] = store;
        }
        // Group steps are numbered first, in order of their first member.
        std::map<int, int> step_of_group;
        for (const Node* n : order) {
            const int g = group_[at(n)];
            if (g < 0 || step_of_group.contains(g)) continue;
            const int step = static_cast<int>(plan_.steps.size());
            step_of_group[g] = step;
            plan_.steps.push_back(PlanStep{static_cast<int>(plan_.kernels.size()), nullptr});
            plan_.kernels.emplace_back();
        }
        for (const Node* n : order) {
            const std::size_t p = at(n);
            if (group_[p] >= 0) {
                step_of_[p] = step_of_group.at(group_[p]);
                if (stored_[p] || is_axis_reduction(n->op())) view_[p] = View{n, contiguous_strides(n->shape())};
                continue;
            }
            if (constant_[p]) continue;
            if (n->op() == Op::Input || n->op() == Op::Parameter || n->op() == Op::Literal) {
                view_[p] = View{n, contiguous_strides(n->shape())};
                continue;
            }
            if (n->op() == Op::BroadcastTo || n->op() == Op::Transpose || n->op() == Op::Reshape) {
                const auto& in = view_[at(n->input(0))];
                if (in) {
                    if (n->op() == Op::BroadcastTo) {
                        const Shape& from = n->input(0)->shape();
                        const Shape& to = n->shape();
                        const int lead = to.rank() - from.rank();
                        std::vector<std::int64_t> s(static_cast<std::size_t>(to.rank()), 0);
                        for (int d = lead; d < to.rank(); ++d)
                            if (from[d - lead] != 1 || to[d] == 1)
                                s[static_cast<std::size_t>(d)] = in->strides[static_cast<std::size_t>(d - lead)];
                        view_[p] = View{in->source, std::move(s)};
                        continue;
                    }
                    if (n->op() == Op::Transpose) {
                        std::vector<std::int64_t> s;
                        for (auto a : n->attrs().axes) s.push_back(in->strides[static_cast<std::size_t>(a)]);
                        view_[p] = View{in->source, std::move(s)};
                        continue;
                    }
                    if (is_contiguous_view(n->input(0)->shape(), in->strides)) {
                        view_[p] = View{in->source, contiguous_strides(n->shape())};
                        continue;
                    }
                }
            }
            if (normalize_kernel(n)) continue;
            // Anything else is materialised by the interpreter's kernel.
            step_of_[p] = static_cast<int>(plan_.steps.size());
            plan_.steps.push_back(PlanStep{-1, n});
            view_[p] = View{n, contiguous_strides(n->shape())};
        }
    }

    // softmax / log_softmax of a tensor laid out contiguously (materialised, or a view that
    // reads it in order): a kernel of its own (normalize_codegen.cpp), made here since it has no
    // group. Its rows are the slices of the axes before the normalised one; along the last axis
    // a row is one slice, along another it holds the slices of the axes after it side by side.
    // Over a strided view it stays an interpreter step.
    bool normalize_kernel(const Node* n) {
        if (n->op() != Op::Softmax && n->op() != Op::LogSoftmax) return false;
        const Shape& shape = n->shape();
        if (shape.numel() == 0) return false;
        const auto& in = view_[at(n->input(0))];
        if (!in || in->strides != contiguous_strides(shape)) return false;
        const auto axis = static_cast<int>(n->attrs().axes.at(0));
        std::int64_t columns = 1;
        for (int d = axis + 1; d < shape.rank(); ++d) columns *= shape[d];
        const std::int64_t length = shape[axis] * columns;
        // Many slices side by side are swept in tiles with their maxima and sums on the stack:
        // measured slower than the interpreter's kernel once a row of them passes 4 MiB
        // (8192x256 float32 along axis 0: 1.8-2.4 ms against 1.4; 1024x1024: 0.49 against
        // 0.60), so those stay its step. At most 64 slices stay in registers: always faster.
        if (columns > 64 && length * static_cast<std::int64_t>(dtype_size(n->dtype())) > (std::int64_t{4} << 20))
            return false;
        const std::size_t p = at(n);
        step_of_[p] = static_cast<int>(plan_.steps.size());
        plan_.steps.push_back(PlanStep{static_cast<int>(plan_.kernels.size()), nullptr});
        FusedKernel& fk = plan_.kernels.emplace_back();
        fk.spec.dtype = n->dtype();
        fk.spec.dims = {shape.numel() / length, length};
        fk.spec.columns = columns;
        fk.spec.operands = {{length, 1}};
        KernelSpec::Instr load;
        load.kind = KernelSpec::Instr::Kind::load;
        load.operand = 0;
        fk.spec.instrs = {load};
        fk.spec.stores = {0};
        fk.spec.normalize =
            n->op() == Op::Softmax ? KernelSpec::Normalize::softmax : KernelSpec::Normalize::log_softmax;
        fk.domain = shape;
        fk.operand_sources = {in->source};
        fk.stored = {n};
        fk.members = {n};
        view_[p] = View{n, contiguous_strides(shape)};
        return true;
    }

    void build_kernels() {
        std::vector<std::vector<const Node*>> members(plan_.kernels.size());
        for (const Node* n : plan_.order)
            if (group_[at(n)] >= 0) members[static_cast<std::size_t>(plan_.steps[static_cast<std::size_t>(step_of_[at(n)])].kernel)].push_back(n);
        for (std::size_t k = 0; k < plan_.kernels.size(); ++k)
            if (plan_.kernels[k].spec.normalize == KernelSpec::Normalize::none)
                build_kernel(plan_.kernels[k], members[k]);
    }

    void build_kernel(FusedKernel& fk, const std::vector<const Node*>& members) {
        KernelSpec& spec = fk.spec;
        const Node* first = members.front();
        fk.domain = is_axis_reduction(first->op()) ? first->input(0)->shape() : first->shape();
        spec.dtype = is_axis_reduction(first->op()) ? first->input(0)->dtype() : first->dtype();
        std::map<const Node*, int> instr_of;
        std::map<std::uint64_t, int> constant_instr;
        std::vector<std::vector<std::int64_t>> raw_operands;
        std::vector<int> operand_instr;
        auto push = [&](KernelSpec::Instr in) {
            spec.instrs.push_back(std::move(in));
            return static_cast<int>(spec.instrs.size()) - 1;
        };
        auto value_of = [&](const Node* x) -> int {
            if (auto it = instr_of.find(x); it != instr_of.end()) return it->second;
            if (const auto& c = constant_[at(x)]) {
                std::uint64_t bits;
                std::memcpy(&bits, &*c, sizeof bits);
                if (auto it = constant_instr.find(bits); it != constant_instr.end()) return it->second;
                KernelSpec::Instr in;
                in.kind = KernelSpec::Instr::Kind::constant;
                in.value = *c;
                return constant_instr[bits] = push(in);
            }
            const auto& v = view_[at(x)];
            if (!v) throw InternalError(fmt::format("fusion: no view for %{}", x->id()));
            if (x->shape() != fk.domain || x->dtype() != spec.dtype)
                throw InternalError(fmt::format("fusion: %{} does not fit its kernel's domain", x->id()));
            for (std::size_t o = 0; o < raw_operands.size(); ++o)
                if (fk.operand_sources[o] == v->source && raw_operands[o] == v->strides) return operand_instr[o];
            fk.operand_sources.push_back(v->source);
            raw_operands.push_back(v->strides);
            KernelSpec::Instr in;
            in.kind = KernelSpec::Instr::Kind::load;
            in.operand = static_cast<int>(raw_operands.size()) - 1;
            operand_instr.push_back(push(in));
            return operand_instr.back();
        };
        std::vector<std::vector<std::int64_t>> raw_acc;
        for (const Node* n : members) {
            if (is_elementwise(n->op())) {
                KernelSpec::Instr in;
                in.op = n->op();
                in.alpha = n->attrs().alpha;
                for (const Node* x : n->inputs()) in.args.push_back(value_of(x));
                instr_of[n] = push(std::move(in));
                fk.members.push_back(n);
                if (stored_[at(n)]) {
                    spec.stores.push_back(instr_of[n]);
                    fk.stored.push_back(n);
                }
            } else {
                KernelSpec::Reduction r;
                r.value = value_of(n->input(0));
                r.combine = n->op() == Op::Mean ? Op::Sum : n->op();
                // Kept dimensions are laid out contiguously, reduced ones have stride 0.
                const auto& axes = n->attrs().axes;
                std::vector<std::int64_t> s(static_cast<std::size_t>(fk.domain.rank()), 0);
                std::int64_t stride = 1;
                for (int d = fk.domain.rank() - 1; d >= 0; --d) {
                    if (std::find(axes.begin(), axes.end(), d) != axes.end()) continue;
                    s[static_cast<std::size_t>(d)] = stride;
                    stride *= fk.domain[d];
                }
                raw_acc.push_back(s);
                spec.reductions.push_back(std::move(r));
                fk.reduced.push_back(n);
            }
        }
        // Merge dimensions that every stride vector walks as one.
        std::vector<std::vector<std::int64_t>> all = raw_operands;
        all.push_back(contiguous_strides(fk.domain));
        for (auto& a : raw_acc) all.push_back(a);
        std::vector<std::int64_t> dims;
        std::vector<std::vector<std::int64_t>> merged(all.size());
        for (int d = 0; d < fk.domain.rank(); ++d) {
            const auto ud = static_cast<std::size_t>(d);
            if (fk.domain[d] == 1) continue;
            bool merge = !dims.empty();
            for (std::size_t k = 0; k < all.size() && merge; ++k) merge = merged[k].back() == all[k][ud] * fk.domain[d];
            if (merge) {
                dims.back() *= fk.domain[d];
                for (std::size_t k = 0; k < all.size(); ++k) merged[k].back() = all[k][ud];
            } else {
                dims.push_back(fk.domain[d]);
                for (std::size_t k = 0; k < all.size(); ++k) merged[k].push_back(all[k][ud]);
            }
        }
        if (dims.empty()) {
            dims.push_back(1);
            for (auto& m : merged) m.push_back(0);
        }
        spec.dims = dims;
        for (std::size_t o = 0; o < raw_operands.size(); ++o) spec.operands.push_back(merged[o]);
        for (std::size_t r = 0; r < raw_acc.size(); ++r) spec.reductions[r].acc_strides = merged[raw_operands.size() + 1 + r];
    }

    // The steps producing what `n` reads at run time (through views and folded constants).
    void producers(const Node* n, std::set<int>& out) const {
        const int s = step_of_[at(n)];
        if (s >= 0) {
            out.insert(s);
            return;
        }
        for (const Node* in : n->inputs()) producers(in, out);
    }

    void order_steps() {
        const std::size_t count = plan_.steps.size();
        std::vector<std::set<int>> deps(count);
        for (const Node* n : plan_.order) {
            const int s = step_of_[at(n)];
            if (s < 0) continue;
            for (const Node* in : n->inputs()) {
                std::set<int> ps;
                producers(in, ps);
                for (int q : ps)
                    if (q != s) deps[static_cast<std::size_t>(s)].insert(q);
            }
        }
        std::vector<std::vector<int>> users(count);
        std::vector<int> pending(count, 0);
        for (std::size_t s = 0; s < count; ++s) {
            pending[s] = static_cast<int>(deps[s].size());
            for (int q : deps[s]) users[static_cast<std::size_t>(q)].push_back(static_cast<int>(s));
        }
        // Ties go to the step whose nodes come first, so plans read in graph order.
        std::vector<int> first(count, static_cast<int>(plan_.order.size()));
        for (const Node* n : plan_.order) {
            const int s = step_of_[at(n)];
            if (s >= 0) first[static_cast<std::size_t>(s)] = std::min(first[static_cast<std::size_t>(s)], static_cast<int>(at(n)));
        }
        using Item = std::pair<int, int>;
        std::priority_queue<Item, std::vector<Item>, std::greater<>> ready;
        for (std::size_t s = 0; s < count; ++s)
            if (pending[s] == 0) ready.emplace(first[s], static_cast<int>(s));
        std::vector<PlanStep> sorted;
        while (!ready.empty()) {
            const int s = ready.top().second;
            ready.pop();
            sorted.push_back(plan_.steps[static_cast<std::size_t>(s)]);
            for (int u : users[static_cast<std::size_t>(s)])
                if (--pending[static_cast<std::size_t>(u)] == 0) ready.emplace(first[static_cast<std::size_t>(u)], u);
        }
        if (sorted.size() != count) throw InternalError("fusion made a cycle between kernels");
        plan_.steps = std::move(sorted);
    }
};

}  // namespace

Plan fuse(std::vector<Value> outputs) {
    if (outputs.empty()) throw UserError("fuse: no outputs given");
    return Fuser(std::move(outputs)).run();
}

std::string format_plan(const Plan& plan) {
    auto ids = [](const std::vector<const Node*>& nodes) {
        std::vector<std::string> s;
        for (const Node* n : nodes) s.push_back(fmt::format("%{}", n->id()));
        return fmt::format("{}", fmt::join(s, " "));
    };
    std::string out;
    int kernel_count = 0;
    for (const PlanStep& step : plan.steps) {
        if (step.kernel < 0) {
            out += fmt::format("node   {}\n", format_node(*step.node));
            continue;
        }
        const FusedKernel& k = plan.kernels[static_cast<std::size_t>(step.kernel)];
        ++kernel_count;
        out += fmt::format("kernel {}: {} over {} (loop ({}))\n", step.kernel, k.spec.dtype, k.domain,
                           fmt::join(k.spec.dims, ", "));
        for (std::size_t o = 0; o < k.operand_sources.size(); ++o)
            out += fmt::format("  read    %{} strides ({})\n", k.operand_sources[o]->id(),
                               fmt::join(k.spec.operands[o], ", "));
        if (!k.members.empty()) {
            std::vector<std::string> ops;
            for (const Node* n : k.members) ops.push_back(fmt::format("%{}={}", n->id(), op_name(n->op())));
            out += fmt::format("  compute {}\n", fmt::join(ops, " "));
        }
        if (!k.stored.empty()) out += fmt::format("  write   {}\n", ids(k.stored));
        for (const Node* r : k.reduced)
            out += fmt::format("  reduce  %{} = {} %{} axes ({})\n", r->id(), op_name(r->op()), r->input(0)->id(),
                               fmt::join(r->attrs().axes, ", "));
    }
    return fmt::format("{} steps, {} kernels\n", plan.steps.size(), kernel_count) + out;
}

}  // namespace nnjit::jit
