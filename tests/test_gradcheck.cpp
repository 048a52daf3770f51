// Every differentiable op of the table passes gradcheck (float64 central differences, see
// gradcheck.hpp for the tolerances), and the kinks follow PyTorch exactly.
#include <catch2/catch.hpp>

#include <set>

#include "gradcheck.hpp"
#include "nnjit/autodiff.hpp"
#include "nnjit/graph_ops.hpp"
#include "nnjit/interpreter.hpp"
#include "nnjit/op.hpp"

using namespace nnjit;
using nnjit::testing::GradInput;
using nnjit::testing::require_gradcheck;

namespace {

struct GradCase {
    std::string op;     // the op of the table this case exercises
    std::string label;  // what is special about it
    testing::GradFunction f;
    std::vector<GradInput> inputs;
};

// Values b = a + d with |d| in [0.1, 1): never a tie, so maximum/minimum are smooth there.
std::pair<Tensor, Tensor> apart(const Shape& shape, std::uint64_t seed) {
    Tensor a = Tensor::rand(DType::f64, shape, seed);
    Tensor b = Tensor::rand(DType::f64, shape, seed + 1);
    double* pa = a.data<double>();
    double* pb = b.data<double>();
    for (std::int64_t i = 0; i < a.numel(); ++i) {
        pa[i] = 4 * pa[i] - 2;
        const double d = 0.1 + 0.9 * pb[i];
        pb[i] = pa[i] + ((i % 2) ? d : -d);
    }
    return {a, b};
}

using V = std::span<const Value>;

std::vector<GradCase> cases() {
    const Shape s34{3, 4};
    const GradInput x{"x", s34};
    const GradInput y{"y", s34};
    const GradInput positive{"x", s34, 0.2, 3.0};
    const GradInput kinked{"x", s34, -2.0, 2.0, {0.0}};
    const auto [ma, mb] = apart(s34, 11);
    const GradInput a_apart{"a", s34, 0, 0, {}, 0, ma};
    const GradInput b_apart{"b", s34, 0, 0, {}, 0, mb};
    const GradInput x234{"x", Shape{2, 3, 4}};
    return {
        {"add", "", [](Graph&, V v) { return v[0] + v[1]; }, {x, y}},
        {"sub", "", [](Graph&, V v) { return v[0] - v[1]; }, {x, y}},
        {"mul", "", [](Graph&, V v) { return v[0] * v[1]; }, {x, y}},
        {"div", "positive divisor", [](Graph&, V v) { return v[0] / v[1]; }, {x, GradInput{"y", s34, 0.5, 2.0}}},
        {"div", "negative divisor", [](Graph&, V v) { return v[0] / v[1]; }, {x, GradInput{"y", s34, -2.0, -0.5}}},
        {"neg", "", [](Graph&, V v) { return -v[0]; }, {x}},
        {"matmul", "", [](Graph&, V v) { return matmul(v[0], v[1]); }, {GradInput{"a", Shape{3, 4}}, GradInput{"b", Shape{4, 5}}}},
        {"matmul_acc", "beta 0.5, scale as an input",
         [](Graph&, V v) { return matmul_acc(v[0], transpose(v[1]), v[2], v[3], 0.5); },
         {GradInput{"a", Shape{3, 4}}, GradInput{"b", Shape{5, 4}}, GradInput{"c", Shape{3, 5}},
          GradInput{"s", Shape{}}}},
        {"matmul", "transposed operands", [](Graph&, V v) { return matmul(transpose(v[0]), transpose(v[1])); },
         {GradInput{"a", Shape{4, 3}}, GradInput{"b", Shape{5, 4}}}},
        {"relu", "", [](Graph&, V v) { return relu(v[0]); }, {kinked}},
        {"leaky_relu", "alpha 0.1", [](Graph&, V v) { return leaky_relu(v[0], 0.1); }, {kinked}},
        {"prelu", "", [](Graph&, V v) { return prelu(v[0], v[1]); }, {kinked, GradInput{"a", s34, 0.05, 0.5}}},
        {"prelu", "slope per column", [](Graph&, V v) { return prelu(v[0], v[1]); }, {kinked, GradInput{"a", Shape{4}, 0.05, 0.5}}},
        {"sigmoid", "", [](Graph&, V v) { return sigmoid(v[0]); }, {GradInput{"x", s34, -6, 6}}},
        {"tanh", "", [](Graph&, V v) { return tanh(v[0]); }, {GradInput{"x", s34, -3, 3}}},
        {"elu", "alpha 1.3", [](Graph&, V v) { return elu(v[0], 1.3); }, {kinked}},
        {"silu", "", [](Graph&, V v) { return silu(v[0]); }, {GradInput{"x", s34, -5, 5}}},
        {"gelu", "", [](Graph&, V v) { return gelu(v[0]); }, {GradInput{"x", s34, -4, 4}}},
        {"softplus", "", [](Graph&, V v) { return softplus(v[0]); }, {GradInput{"x", s34, -6, 6}}},
        {"expm1", "", [](Graph&, V v) { return expm1(v[0]); }, {GradInput{"x", s34, -4, 3}}},
        {"log1p", "", [](Graph&, V v) { return log1p(v[0]); }, {GradInput{"x", s34, -0.9, 4}}},
        {"erfc", "", [](Graph&, V v) { return erfc(v[0]); }, {GradInput{"x", s34, -2.5, 2.5}}},
        {"exp", "", [](Graph&, V v) { return exp(v[0]); }, {x}},
        {"log", "", [](Graph&, V v) { return log(v[0]); }, {positive}},
        {"sqrt", "", [](Graph&, V v) { return sqrt(v[0]); }, {positive}},
        {"abs", "", [](Graph&, V v) { return abs(v[0]); }, {kinked}},
        {"maximum", "", [](Graph&, V v) { return maximum(v[0], v[1]); }, {a_apart, b_apart}},
        {"minimum", "", [](Graph&, V v) { return minimum(v[0], v[1]); }, {a_apart, b_apart}},
        {"where", "",
         [](Graph& g, V v) {
             const Tensor cond = Tensor::from<double>(Shape{3, 4}, {1, 0, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1});
             return where(g.literal(cond), v[0], v[1]);
         },
         {x, y}},
        {"where", "broadcast condition",
         [](Graph& g, V v) { return where(g.literal(Tensor::from<double>(Shape{4}, {0, 1, 1, 0})), v[0], v[1]); },
         {x, y}},
        {"sum", "all", [](Graph&, V v) { return sum(v[0]); }, {x234}},
        {"sum", "all, keepdims", [](Graph&, V v) { return sum(v[0], true); }, {x234}},
        {"sum", "axis 1", [](Graph&, V v) { return sum(v[0], 1); }, {x234}},
        {"sum", "axis -1, keepdims", [](Graph&, V v) { return sum(v[0], -1, true); }, {x234}},
        {"sum", "axes (0, 2)", [](Graph&, V v) { return sum(v[0], std::vector<std::int64_t>{0, 2}); }, {x234}},
        {"mean", "all", [](Graph&, V v) { return mean(v[0]); }, {x234}},
        {"mean", "all, keepdims", [](Graph&, V v) { return mean(v[0], true); }, {x234}},
        {"mean", "axis 0", [](Graph&, V v) { return mean(v[0], 0); }, {x234}},
        {"mean", "axis 2, keepdims", [](Graph&, V v) { return mean(v[0], 2, true); }, {x234}},
        {"max", "all", [](Graph&, V v) { return max(v[0]); }, {x}},
        {"max", "axis 1, keepdims", [](Graph&, V v) { return max(v[0], 1, true); }, {x234}},
        {"min", "axes (0, 2)", [](Graph&, V v) { return min(v[0], std::vector<std::int64_t>{0, 2}); }, {x234}},
        {"broadcast_to", "", [](Graph&, V v) { return broadcast_to(v[0], Shape{2, 3, 4}); }, {GradInput{"x", Shape{3, 1}}}},
        {"broadcast_to", "from a scalar", [](Graph&, V v) { return broadcast_to(v[0], Shape{2, 3}); }, {GradInput{"x", Shape{}}}},
        {"reshape", "", [](Graph&, V v) { return reshape(v[0], Shape{4, 6}); }, {x234}},
        {"reshape", "of a transposed view", [](Graph&, V v) { return reshape(transpose(v[0]), Shape{12}); }, {x}},
        {"transpose", "2-D", [](Graph&, V v) { return transpose(v[0]); }, {x}},
        {"transpose", "perm (2, 0, 1)", [](Graph&, V v) { return transpose(v[0], {2, 0, 1}); }, {x234}},
        {"softmax", "last axis", [](Graph&, V v) { return softmax(v[0]); }, {x}},
        {"softmax", "axis 0", [](Graph&, V v) { return softmax(v[0], 0); }, {x}},
        {"softmax", "middle axis of 3-D", [](Graph&, V v) { return softmax(v[0], 1); }, {x234}},
        {"log_softmax", "last axis", [](Graph&, V v) { return log_softmax(v[0]); }, {x}},
        {"log_softmax", "axis 0", [](Graph&, V v) { return log_softmax(v[0], 0); }, {x}},
        {"mse", "", [](Graph&, V v) { return mse(v[0], v[1]); }, {x, y}},
        {"cross_entropy", "", [](Graph&, V v) { return cross_entropy(v[0], v[1]); },
         {x, GradInput{"t", s34, 0.0, 1.0}}},
        {"graph", "a two-layer network",
         [](Graph&, V v) { return mean(tanh(matmul(relu(matmul(v[0], v[1]) + v[2]), v[3]))); },
         {GradInput{"x", Shape{5, 3}}, GradInput{"w1", Shape{3, 4}}, GradInput{"b1", Shape{4}, -1, 1, {}, 0, {}},
          GradInput{"w2", Shape{4, 2}}}},
    };
}

// Ops that gradcheck does not apply to, and why.
const std::set<std::string> kNotDifferentiable = {
    "greater", "equal",  // piecewise constant: no gradient (checked to be zero below)
    "cast",              // a float32 round trip is not smooth at float64 resolution (gradient checked below)
};

}  // namespace

TEST_CASE("gradcheck: every differentiable op matches central differences", "[autodiff][gradcheck]") {
    for (const GradCase& c : cases()) {
        DYNAMIC_SECTION(c.op << (c.label.empty() ? "" : " (" + c.label + ")")) {
            require_gradcheck(c.f, c.inputs);
        }
    }
}

TEST_CASE("gradcheck: every op of the table is covered", "[autodiff][gradcheck]") {
    std::set<std::string> covered;
    for (const GradCase& c : cases()) covered.insert(c.op);
    for (const OpInfo& info : op_table()) {
        if (info.kind == OpKind::Source) continue;
        const std::string name(info.name);
        INFO("op " << name);
        CHECK((covered.count(name) == 1 || kNotDifferentiable.count(name) == 1));
    }
}

TEST_CASE("gradcheck: the helper fails where the gradient is wrong, and names the element", "[autodiff][gradcheck]") {
    // At x = 0 relu's rule says 0 but the central difference sees (h - 0) / 2h = 0.5: a
    // helper that cannot fail would pass this.
    const Tensor at_kink = Tensor::from<double>(Shape{3}, {1.0, 0.0, -1.0});
    const auto r = testing::gradcheck([](Graph&, V v) { return relu(v[0]); },
                                      {GradInput{"x", Shape{3}, 0, 0, {}, 0, at_kink}});
    CHECK_FALSE(r.ok);
    CHECK(r.worst > 1);
    CHECK_THAT(r.report, Catch::Matchers::Contains("d/dx[1]"));
    CHECK(r.elements == 3);
    // The same points away from the kink pass.
    const Tensor smooth = Tensor::from<double>(Shape{3}, {1.0, 0.5, -1.0});
    CHECK(testing::gradcheck([](Graph&, V v) { return relu(v[0]); }, {GradInput{"x", Shape{3}, 0, 0, {}, 0, smooth}})
              .ok);
}

namespace {

// Gradient of sum(f(x)) (cotangent of ones) for explicit x, run by the interpreter.
std::vector<double> grad_at(DType dtype, std::vector<double> xs, const std::function<Value(Value)>& f) {
    Graph g;
    const auto n = static_cast<std::int64_t>(xs.size());
    const Value x = g.input("x", dtype, Shape{n});
    const Value gx = grad(f(x), x);
    const Tensor xt = Tensor::from<double>(Shape{n}, std::span<const double>(xs)).to(dtype);
    return Interpreter({gx}).run({{"x", xt}})[0].to_doubles();
}

}  // namespace

TEST_CASE("kinks follow PyTorch exactly", "[autodiff]") {
    for (DType dtype : {DType::f32, DType::f64}) {
        INFO(dtype_name(dtype));
        // relu'(0) = 0, also at -0
        CHECK(grad_at(dtype, {-1, -0.0, 0, 2}, [](Value x) { return relu(x); }) ==
              std::vector<double>{0, 0, 0, 1});
        // leaky_relu'(0) = alpha; 0.25 is exact in both dtypes
        CHECK(grad_at(dtype, {-1, 0, 2}, [](Value x) { return leaky_relu(x, 0.25); }) ==
              std::vector<double>{0.25, 0.25, 1});
        // elu'(0) = alpha (PyTorch takes the x <= 0 branch)
        CHECK(grad_at(dtype, {0, 1}, [](Value x) { return elu(x, 0.5); }) == std::vector<double>{0.5, 1});
        // abs'(0) = 0, also at -0
        CHECK(grad_at(dtype, {-2, 0, -0.0, 3}, [](Value x) { return abs(x); }) ==
              std::vector<double>{-1, 0, 0, 1});
        // maximum(x, x) and minimum(x, x): each side gets half, so the total is 1
        CHECK(grad_at(dtype, {1, -3}, [](Value x) { return maximum(x, x); }) == std::vector<double>{1, 1});
        CHECK(grad_at(dtype, {1, -3}, [](Value x) { return minimum(x, x); }) == std::vector<double>{1, 1});
        // clamp' = 1 on [lo, hi], ends included, 0 outside
        CHECK(grad_at(dtype, {-2, -1, 0, 1, 2}, [](Value x) { return clamp(x, -1, 1); }) ==
              std::vector<double>{0, 1, 1, 1, 0});
    }
}

TEST_CASE("kinks of two-operand ops: prelu and tie-splitting maximum/minimum", "[autodiff]") {
    for (DType dtype : {DType::f32, DType::f64}) {
        INFO(dtype_name(dtype));
        Graph g;
        const Value x = g.input("x", dtype, Shape{3});
        const Value a = g.input("a", dtype, Shape{3});
        const Bindings b = {{"x", Tensor::from<double>(Shape{3}, {0, -1, 2}).to(dtype)},
                            {"a", Tensor::from<double>(Shape{3}, {0.25, 0.25, 0.25}).to(dtype)}};
        {
            const auto gr = grad(prelu(x, a), std::vector<Value>{x, a});
            const auto out = Interpreter(gr).run(b);
            CHECK(out[0].to_doubles() == std::vector<double>{0.25, 0.25, 1});  // prelu'(0) = a
            CHECK(out[1].to_doubles() == std::vector<double>{0, -1, 0});       // d/da = x where x <= 0
        }
        const Bindings ties = {{"x", Tensor::from<double>(Shape{3}, {1, 2, 3}).to(dtype)},
                               {"a", Tensor::from<double>(Shape{3}, {1, 0, 5}).to(dtype)}};
        {
            const auto out = Interpreter(grad(maximum(x, a), std::vector<Value>{x, a})).run(ties);
            CHECK(out[0].to_doubles() == std::vector<double>{0.5, 1, 0});
            CHECK(out[1].to_doubles() == std::vector<double>{0.5, 0, 1});
        }
        {
            const auto out = Interpreter(grad(minimum(x, a), std::vector<Value>{x, a})).run(ties);
            CHECK(out[0].to_doubles() == std::vector<double>{0.5, 0, 1});
            CHECK(out[1].to_doubles() == std::vector<double>{0.5, 1, 0});
        }
        // max and min of a tensor: the gradient goes to the elements equal to the result, split
        // evenly among ties, as PyTorch's amax/amin; NaN in, NaN gradient.
        const Bindings three = {{"x", Tensor::from<double>(Shape{3}, {1, 3, 3}).to(dtype)},
                                {"a", Tensor::from<double>(Shape{3}, {-2, 7, -2}).to(dtype)}};
        {
            const auto out = Interpreter(grad(max(x) * 6.0 + min(a) * 4.0, std::vector<Value>{x, a})).run(three);
            CHECK(out[0].to_doubles() == std::vector<double>{0, 3, 3});
            CHECK(out[1].to_doubles() == std::vector<double>{2, 0, 2});
        }
        {
            const Bindings nan = {{"x", Tensor::from<double>(Shape{3}, {1, std::nan(""), 3}).to(dtype)},
                                  {"a", three.at("a")}};
            const auto gx = Interpreter(grad(max(x), std::vector<Value>{x})).run(nan)[0].to_doubles();
            for (double v : gx) CHECK(std::isnan(v));
        }
    }
}

TEST_CASE("non-differentiable ops give zero gradients, and cast passes the gradient through", "[autodiff]") {
    Graph g;
    const Value x = g.input("x", DType::f64, Shape{3});
    const Value c = g.input("c", DType::f64, Shape{3});
    const Bindings b = {{"x", Tensor::from<double>(Shape{3}, {1, 2, 3})},
                        {"c", Tensor::from<double>(Shape{3}, {2, 2, 2})}};
    // d/dx sum(greater(x, c) * x) = greater(x, c): the comparison itself contributes nothing.
    const auto out = Interpreter(grad(greater(x, c) * x + equal(x, c) * 10.0, std::vector<Value>{x, c})).run(b);
    CHECK(out[0].to_doubles() == std::vector<double>{0, 0, 1});
    CHECK(out[1].to_doubles() == std::vector<double>{0, 0, 0});

    // cast to float32 and back: the gradient is cast back to the input's dtype.
    const Value y = cast(cast(x, DType::f32) * 3.0, DType::f64);
    const Value gx = grad(y, x);
    CHECK(gx.dtype() == DType::f64);
    CHECK(Interpreter({gx}).run(b)[0].to_doubles() == std::vector<double>{3, 3, 3});
}

TEST_CASE("grad: a variable the output does not depend on gets zeros of its shape and dtype", "[autodiff]") {
    Graph g;
    const Value x = g.input("x", DType::f32, Shape{2, 3});
    const Value unrelated = g.input("u", DType::f64, Shape{4});
    const auto grads = grad(sum(x * x), std::vector<Value>{x, unrelated});
    CHECK(grads[1].shape() == Shape{4});
    CHECK(grads[1].dtype() == DType::f64);
    const auto out = Interpreter(grads).run({{"x", Tensor::arange(DType::f32, 6).reshape(Shape{2, 3})},
                                            {"u", Tensor::full(DType::f64, Shape{4}, 5.0)}});
    CHECK(out[0].to_doubles() == std::vector<double>{0, 2, 4, 6, 8, 10});
    CHECK(out[1].to_doubles() == std::vector<double>{0, 0, 0, 0});
}
