// Gradients with respect to inputs that were broadcast: they are summed back to the input's
// own shape. Exact values for simple cases, gradcheck (gradcheck.hpp) for the rest.
#include <catch2/catch.hpp>

#include "gradcheck.hpp"
#include "nnjit/autodiff.hpp"
#include "nnjit/graph_ops.hpp"
#include "nnjit/interpreter.hpp"

using namespace nnjit;
using nnjit::testing::GradInput;
using nnjit::testing::require_gradcheck;
using V = std::span<const Value>;

namespace {

// d sum(f(x, b)) / db for x of shape (4, 3) = arange(12) and b of `b_shape` = ones, in `dtype`.
Tensor bias_grad(DType dtype, const Shape& b_shape, const std::function<Value(Value, Value)>& f) {
    Graph g;
    const Value x = g.input("x", dtype, Shape{4, 3});
    const Value b = g.input("b", dtype, b_shape);
    const Value gb = grad(f(x, b), b);
    REQUIRE(gb.shape() == b_shape);
    REQUIRE(gb.dtype() == dtype);
    return Interpreter({gb}).run({{"x", Tensor::arange(dtype, 12).reshape(Shape{4, 3})},
                                  {"b", Tensor::full(dtype, b_shape, 1.0)}})[0];
}

}  // namespace

TEST_CASE("broadcast grad: a bias gets the sum over the broadcast dimensions", "[autodiff][broadcast]") {
    const auto add = [](Value x, Value b) { return x + b; };
    const auto mul = [](Value x, Value b) { return x * b; };
    for (DType dtype : {DType::f32, DType::f64}) {
        INFO(dtype_name(dtype));
        // x + b: each element of b is used once per row (4 rows) or column (3 columns).
        CHECK(bias_grad(dtype, Shape{3}, add).to_doubles() == std::vector<double>{4, 4, 4});
        CHECK(bias_grad(dtype, Shape{1, 3}, add).to_doubles() == std::vector<double>{4, 4, 4});
        CHECK(bias_grad(dtype, Shape{4, 1}, add).to_doubles() == std::vector<double>{3, 3, 3, 3});
        CHECK(bias_grad(dtype, Shape{}, add).to_doubles() == std::vector<double>{12});
        CHECK(bias_grad(dtype, Shape{1, 1}, add).to_doubles() == std::vector<double>{12});
        // x * b: column sums of x = arange(12).reshape(4, 3) are 18, 22, 26; row sums 3, 12, 21, 30.
        CHECK(bias_grad(dtype, Shape{3}, mul).to_doubles() == std::vector<double>{18, 22, 26});
        CHECK(bias_grad(dtype, Shape{4, 1}, mul).to_doubles() == std::vector<double>{3, 12, 21, 30});
        CHECK(bias_grad(dtype, Shape{}, mul).to_doubles() == std::vector<double>{66});
        // b - x and b used twice: contributions from both uses add up.
        CHECK(bias_grad(dtype, Shape{3}, [](Value x, Value b) { return b - x + b * 2.0; }).to_doubles() ==
              std::vector<double>{12, 12, 12});
    }
}

TEST_CASE("broadcast grad: the input being broadcast is the big one's partner on either side",
          "[autodiff][broadcast]") {
    // (4, 1) against (1, 3): both operands are broadcast, both gradients are reduced.
    Graph g;
    const Value a = g.input("a", DType::f64, Shape{4, 1});
    const Value b = g.input("b", DType::f64, Shape{1, 3});
    const auto grads = grad(a * b, std::vector<Value>{a, b});
    REQUIRE(grads[0].shape() == Shape{4, 1});
    REQUIRE(grads[1].shape() == Shape{1, 3});
    const auto out = Interpreter(grads).run({{"a", Tensor::from<double>(Shape{4, 1}, {1, 2, 3, 4})},
                                             {"b", Tensor::from<double>(Shape{1, 3}, {10, 20, 30})}});
    CHECK(out[0].to_doubles() == std::vector<double>{60, 60, 60, 60});  // sum of b
    CHECK(out[1].to_doubles() == std::vector<double>{10, 10, 10});      // sum of a
}

TEST_CASE("broadcast grad: gradcheck through broadcasting ops", "[autodiff][broadcast][gradcheck]") {
    const GradInput x{"x", Shape{4, 3}};
    SECTION("bias (n,)") { require_gradcheck([](Graph&, V v) { return v[0] + v[1]; }, {x, GradInput{"b", Shape{3}}}); }
    SECTION("bias (1, n)") {
        require_gradcheck([](Graph&, V v) { return v[0] + v[1]; }, {x, GradInput{"b", Shape{1, 3}}});
    }
    SECTION("column (m, 1)") {
        require_gradcheck([](Graph&, V v) { return v[0] * v[1]; }, {x, GradInput{"c", Shape{4, 1}}});
    }
    SECTION("scalar input") {
        require_gradcheck([](Graph&, V v) { return v[1] / v[0]; }, {GradInput{"x", Shape{4, 3}, 0.5, 2.0},
                                                                   GradInput{"s", Shape{}}});
    }
    SECTION("rank grows: (3,) against (2, 4, 3)") {
        require_gradcheck([](Graph&, V v) { return tanh(v[0] - v[1]); },
                          {GradInput{"x", Shape{2, 4, 3}}, GradInput{"b", Shape{3}}});
    }
    SECTION("both operands broadcast: (4, 1) and (1, 3)") {
        require_gradcheck([](Graph&, V v) { return sigmoid(v[0] * v[1]); },
                          {GradInput{"a", Shape{4, 1}}, GradInput{"b", Shape{1, 3}}});
    }
    SECTION("linear layer x @ W + b") {
        require_gradcheck([](Graph&, V v) { return matmul(v[0], v[1]) + v[2]; },
                          {GradInput{"x", Shape{5, 3}}, GradInput{"w", Shape{3, 2}}, GradInput{"b", Shape{2}}});
    }
    SECTION("prelu slope per channel") {
        require_gradcheck([](Graph&, V v) { return prelu(v[0], v[1]); },
                          {GradInput{"x", Shape{4, 3}, -2, 2, {0.0}}, GradInput{"a", Shape{3}, 0.05, 0.5}});
    }
    SECTION("maximum against a scalar") {
        // Values kept 0.05 away from the scalar's 0.3 so that no tie falls inside the step.
        const Tensor s = Tensor::scalar(DType::f64, 0.3);
        require_gradcheck([](Graph&, V v) { return maximum(v[0], v[1]); },
                          {GradInput{"x", Shape{4, 3}, -2, 2, {0.3}}, GradInput{"s", Shape{}, 0, 0, {}, 0, s}});
    }
    SECTION("where with broadcast branches") {
        const Tensor cond = Tensor::from<double>(Shape{4, 1}, {1, 0, 1, 0});
        require_gradcheck([cond](Graph& g, V v) { return where(g.literal(cond), v[0], v[1]); },
                          {GradInput{"a", Shape{3}}, GradInput{"b", Shape{}}});
    }
    SECTION("explicit broadcast_to, then a reduction over another axis") {
        require_gradcheck([](Graph&, V v) { return sum(exp(broadcast_to(v[0], Shape{2, 4, 3})), 1); },
                          {GradInput{"x", Shape{4, 1}}});
    }
    SECTION("a float64 scalar constant on a tensor") {
        require_gradcheck([](Graph&, V v) { return 3.0 * v[0] - 1.5; }, {x});
    }
}

TEST_CASE("broadcast grad: a float32 bias meeting a float64 tensor gets a float32 gradient",
          "[autodiff][broadcast]") {
    Graph g;
    const Value x = g.input("x", DType::f64, Shape{2, 3});
    const Value b = g.input("b", DType::f32, Shape{3});
    const Value gb = grad(x * b, b);
    CHECK(gb.dtype() == DType::f32);
    CHECK(gb.shape() == Shape{3});
    const auto out = Interpreter({gb}).run({{"x", Tensor::arange(DType::f64, 6).reshape(Shape{2, 3})},
                                            {"b", Tensor::full(DType::f32, Shape{3}, 1.0)}});
    CHECK(out[0].to_doubles() == std::vector<double>{3, 5, 7});
}
