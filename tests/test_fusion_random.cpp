// Random graphs, fused and compiled by the JIT, against the interpreter: elementwise ops of
// every kind on operands broadcast against each other, scalar constants, sums and means, and
// the gradient of the result with respect to every input. Graphs without a sum are compared
// bit for bit; sums may add in another order, so graphs with one are compared with a
// tolerance (and comparisons, whose result would flip on a last-bit difference, are kept off
// values that come from a sum). Seeded: the same graphs on every run.
#include <catch2/catch.hpp>

#include <cmath>
#include <random>

#include "nnjit/autodiff.hpp"
#include "nnjit/engine.hpp"
#include "nnjit/graph_ops.hpp"

using namespace nnjit;

namespace {

struct Pooled {
    Value value;
    bool from_sum = false;  // depends on a sum or mean
};

struct RandomGraph {
    std::vector<Value> outputs;
    Bindings bindings;
    bool exact = true;
};

class Generator {
public:
    explicit Generator(std::uint64_t seed) : rng_(seed) {}

    RandomGraph make(Graph& g) {
        RandomGraph out;
        const DType dtype = pick(4) == 0 ? DType::f64 : DType::f32;
        static const std::vector<Shape> bases = {Shape{},     Shape{1},     Shape{5},        Shape{16},
                                                 Shape{33},   Shape{3, 7},  Shape{2, 3, 17}, Shape{64, 16},
                                                 Shape{1000}, Shape{17, 1}, Shape{4, 1, 9}};
        const Shape base = bases[pick(bases.size())];
        std::vector<Pooled> pool;
        std::vector<Value> inputs;
        const std::size_t n_inputs = 1 + pick(3);
        for (std::size_t k = 0; k < n_inputs; ++k) {
            const std::string name = fmt::format("x{}", k);
            Value x = (k % 2 ? g.parameter(name, dtype, sub_shape(base)) : g.input(name, dtype, k == 0 ? base : sub_shape(base)));
            inputs.push_back(x);
            pool.push_back({x, false});
            out.bindings[name] = Tensor::randn(dtype, x.shape(), rng_());
        }
        static const Op unary[] = {Op::Neg,  Op::Exp,  Op::Log, Op::Sqrt, Op::Abs,  Op::Relu,     Op::LeakyRelu, Op::Sigmoid,
                                   Op::Tanh, Op::Elu,  Op::Silu, Op::Gelu, Op::Softplus, Op::Erfc, Op::Expm1,     Op::Log1p};
        static const Op binary[] = {Op::Add, Op::Sub, Op::Mul, Op::Div, Op::Maximum, Op::Minimum, Op::Prelu};
        static const double constants[] = {0.5, -2.0, 3.0, 0.1, 1.0};
        static const double alphas[] = {0.01, 0.3, 1.0, 1.7};
        const std::size_t steps = 2 + pick(9);
        for (std::size_t s = 0; s < steps; ++s) {
            const Pooled& a = pool[pick(pool.size())];
            const Pooled& b = pool[pick(pool.size())];
            const std::size_t r = pick(100);
            Pooled next;
            if (r < 35) {
                const Op op = unary[pick(std::size(unary))];
                const Value in[] = {a.value};
                next = {elementwise(op, in, alphas[pick(std::size(alphas))]), a.from_sum};
            } else if (r < 70) {
                const Value in[] = {a.value, b.value};
                next = {elementwise(binary[pick(std::size(binary))], in), a.from_sum || b.from_sum};
            } else if (r < 80 && !a.from_sum && !b.from_sum) {
                const Pooled& c = pool[pick(pool.size())];
                if (c.from_sum) continue;
                const Value in[] = {a.value, b.value};
                Value cond = elementwise(pick(2) ? Op::Greater : Op::Equal, in);
                next = {where(cond, b.value, c.value), false};
            } else if (r < 90) {
                const double c = constants[pick(std::size(constants))];
                next = {pick(2) ? a.value * c : c - a.value, a.from_sum};
            } else {
                if (a.value.shape().rank() == 0) continue;
                std::vector<std::int64_t> axes;
                for (int d = 0; d < a.value.shape().rank(); ++d)
                    if (pick(2)) axes.push_back(d);
                if (axes.empty()) axes.push_back(a.value.shape().rank() - 1);
                next = {pick(2) ? sum(a.value, axes, true) : mean(a.value, axes, true), true};
                out.exact = false;
            }
            pool.push_back(next);
        }
        const Value y = pool.back().value;
        out.outputs.push_back(y);
        out.outputs.push_back(pool[pick(pool.size())].value);
        Value gy = g.input("gy", dtype, y.shape());
        out.bindings["gy"] = Tensor::randn(dtype, y.shape(), rng_());
        for (Value gx : grad(y, inputs, gy)) out.outputs.push_back(gx);
        // A gradient through a broadcast sums too.
        for (const Node* n : reachable_nodes(out.outputs))
            if (n->op() == Op::Sum || n->op() == Op::Mean) out.exact = false;
        return out;
    }

private:
    std::mt19937_64 rng_;

    std::size_t pick(std::size_t n) { return static_cast<std::size_t>(rng_() % n); }

    // `base` with some dimensions set to 1 and maybe some leading ones dropped.
    Shape sub_shape(const Shape& base) {
        std::vector<std::int64_t> dims = base.dims();
        for (auto& d : dims)
            if (pick(3) == 0) d = 1;
        if (!dims.empty() && pick(3) == 0) dims.erase(dims.begin(), dims.begin() + static_cast<long>(1 + pick(dims.size())));
        return Shape(dims);
    }
};

bool close(const Tensor& a, const Tensor& b, double rtol) {
    if (a.shape() != b.shape() || a.dtype() != b.dtype()) return false;
    const auto x = a.to_doubles(), y = b.to_doubles();
    for (std::size_t i = 0; i < x.size(); ++i) {
        if (std::isnan(x[i]) || std::isnan(y[i])) {
            if (std::isnan(x[i]) != std::isnan(y[i])) return false;
            continue;
        }
        if (x[i] == y[i]) continue;
        if (std::abs(x[i] - y[i]) > rtol * (1 + std::abs(y[i]))) return false;
    }
    return true;
}

}  // namespace

TEST_CASE("fusion: 1000 random graphs and their gradients agree with the interpreter", "[jit][fusion][random]") {
    int exact_graphs = 0;
    for (std::uint64_t seed = 1; seed <= 1000; ++seed) {
        Graph g;
        Generator gen(seed);
        const RandomGraph rg = gen.make(g);
        const auto jit = compile(rg.outputs, Backend::jit)->run(rg.bindings);
        const auto ref = compile(rg.outputs, Backend::interp)->run(rg.bindings);
        exact_graphs += rg.exact;
        for (std::size_t k = 0; k < rg.outputs.size(); ++k) {
            const double rtol = rg.outputs[k].dtype() == DType::f32 ? 1e-4 : 1e-10;
            const bool ok = rg.exact ? bitwise_equal(jit[k], ref[k]) : close(jit[k], ref[k], rtol);
            if (!ok) {
                FAIL_CHECK(fmt::format("seed {} output {} ({}):\n{}\njit {}\ninterp {}", seed, k,
                                       rg.exact ? "bitwise" : "tolerance", format_graph(rg.outputs), jit[k], ref[k]));
            }
        }
    }
    // The generator must exercise both kinds of comparison.
    CHECK(exact_graphs > 200);
    CHECK(exact_graphs < 900);
}
