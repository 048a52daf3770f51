// eval(): the compile-time engine. It must agree bit for bit with the interpreter on every
// elementwise op (both run op_rules.hpp over ScalarMath), in both loops (vectorised and strided),
// with every kind of broadcast operand.
#include <catch2/catch.hpp>

#include "nnjit/nnjit.hpp"

using namespace nnjit;

namespace {

constexpr auto x = input<"x", float, Dims<Dynamic, 5>>;
constexpr auto y = input<"y", float, Dims<Dynamic, 5>>;

// Values around the kinks and tails of every op: zeros, both signs, large magnitudes.
Tensor values(Shape shape, std::uint64_t seed) {
    Tensor t = Tensor::randn(DType::f32, shape, seed);
    float* p = t.data<float>();
    const float special[] = {0.0f, -0.0f, 1.0f, -1.0f, 30.0f, -30.0f, 1e-3f, -1e-3f};
    for (std::int64_t i = 0; i < t.numel() && i < 8; ++i) p[i] = special[i];
    for (std::int64_t i = 8; i < t.numel(); ++i) p[i] *= 3.0f;
    return t;
}

template <class E> void check_against_interpreter(const E& e, const Bindings& bindings) {
    const Tensor fused = eval(e, bindings);
    const Tensor reference = run(Backend::interp, bindings, e)[0];
    INFO("eval:   " << fmt::format("{}", fused));
    INFO("interp: " << fmt::format("{}", reference));
    CHECK(bitwise_equal(fused, reference));
}

}  // namespace

TEST_CASE("eval: every elementwise op agrees bitwise with the interpreter", "[expr][eval]") {
    const Bindings b{{"x", values(Shape{7, 5}, 1)}, {"y", values(Shape{7, 5}, 2)}};
    const auto pos = abs(x) + 0.25f;  // for log and sqrt
    check_against_interpreter(-x, b);
    check_against_interpreter(exp(x), b);
    check_against_interpreter(log(pos), b);
    check_against_interpreter(sqrt(pos), b);
    check_against_interpreter(abs(x), b);
    check_against_interpreter(relu(x), b);
    check_against_interpreter(leaky_relu(x, 0.1), b);
    check_against_interpreter(prelu(x, y), b);
    check_against_interpreter(sigmoid(x), b);
    check_against_interpreter(tanh(x), b);
    check_against_interpreter(elu(x, 0.7), b);
    check_against_interpreter(silu(x), b);
    check_against_interpreter(gelu(x), b);
    check_against_interpreter(softplus(x), b);
    check_against_interpreter(expm1(x), b);
    check_against_interpreter(log1p(x), b);
    check_against_interpreter(erfc(x), b);
    check_against_interpreter(x + y, b);
    check_against_interpreter(x - y, b);
    check_against_interpreter(x * y, b);
    check_against_interpreter(x / y, b);
    check_against_interpreter(maximum(x, y), b);
    check_against_interpreter(minimum(x, y), b);
    check_against_interpreter(greater(x, y), b);
    check_against_interpreter(equal(x, x * 1.0f), b);
    check_against_interpreter(where(greater(x, 0.0f), x, y), b);
    // The comparison operators against the graph's greater/equal, and their 0/1 values.
    check_against_interpreter(where(x > 0.0f, x, 0.1f * x), b);
    check_against_interpreter((x < y) + (x >= y) * 2.0f + (x <= 0.5f) * 4.0f, b);
    check_against_interpreter((x == x * 1.0f) - (0.0f != x), b);
    const auto v = eval(x > y, b).to_doubles(), xs = b.at("x").to_doubles(), ys = b.at("y").to_doubles();
    for (std::size_t i = 0; i < v.size(); ++i) CHECK(v[i] == (xs[i] > ys[i] ? 1.0 : 0.0));
    check_against_interpreter(sigmoid(2.0f * x + 0.5f) * relu(x), b);  // the benchmarks' chain
}

TEST_CASE("eval: float64 expressions", "[expr][eval]") {
    constexpr auto a = input<"a", double, Dims<3, 4>>;
    const Bindings b{{"a", Tensor::randn(DType::f64, Shape{3, 4}, 5)}};
    check_against_interpreter(tanh(a) * softplus(a) - 1.0, b);
    CHECK(eval(a * 2.0, b).dtype() == DType::f64);
}

TEST_CASE("eval: broadcast operands, vectorised and strided loops", "[expr][eval]") {
    constexpr auto row = input<"row", float, Dims<5>>;          // a bias: the trailing dims
    constexpr auto col = input<"col", float, Dims<Dynamic, 1>>;  // a size-1 dim stretched
    constexpr auto s = input<"s", float>;                        // a scalar tensor
    constexpr auto cube = input<"cube", float, Dims<2, Dynamic, 5>>;
    const Bindings b{{"x", values(Shape{6, 5}, 3)},
                     {"row", values(Shape{5}, 4)},
                     {"col", values(Shape{6, 1}, 5)},
                     {"s", Tensor::scalar(DType::f32, 0.75)},
                     {"cube", values(Shape{2, 6, 5}, 6)}};
    check_against_interpreter(relu(x * s + row), b);  // vectorised: full, trailing row, scalar
    check_against_interpreter(x * col + row, b);       // strided: col stretches its last dim
    check_against_interpreter(cube + x * row, b);      // rank 3 meets rank 2 and rank 1: strided
    check_against_interpreter(cube * x, b);            // rank 3 meets one trailing rank: vectorised
    check_against_interpreter(row * 2.0f + s, b);      // rank 1 output

    // A transposed view is not contiguous: the strided loop reads it in place.
    const Tensor xt = values(Shape{5, 6}, 7).transpose();
    const Bindings bt{{"x", xt}, {"row", values(Shape{5}, 4)}};
    CHECK(bitwise_equal(eval(x + row, bt), eval(x + row, {{"x", xt.contiguous()}, {"row", values(Shape{5}, 4)}})));

    // A constant-only expression is a scalar.
    CHECK(eval(constant(2.0f) * 3.0f).flat(0) == 6.0f);
}

TEST_CASE("eval: bindings written in place and eval_into", "[expr][eval]") {
    const Tensor tx = values(Shape{4, 5}, 8);
    const Tensor ty = values(Shape{4, 5}, 9);
    const auto e = x * sigmoid(y);
    const Tensor a = eval(e, x = tx, y = ty);
    CHECK(bitwise_equal(a, eval(e, Bindings{{"x", tx}, {"y", ty}})));

    Tensor out = Tensor::zeros(DType::f32, Shape{4, 5});
    const void* storage = out.raw_data();
    eval_into(e, {{"x", tx}, {"y", ty}}, out);
    CHECK(out.raw_data() == storage);
    CHECK(bitwise_equal(out, a));

    Tensor wrong = Tensor::zeros(DType::f32, Shape{5, 4});
    CHECK_THROWS_WITH(eval_into(e, {{"x", tx}, {"y", ty}}, wrong), Catch::Contains("(4, 5)"));
}

TEST_CASE("eval: binding mistakes are UserErrors naming the placeholder", "[expr][eval][error]") {
    const auto e = x + y;
    const Tensor tx = values(Shape{4, 5}, 8);
    CHECK_THROWS_WITH(eval(e, x = tx), Catch::Contains("input 'y' is not bound"));
    CHECK_THROWS_WITH(eval(e, x = tx, y = Tensor::zeros(DType::f64, Shape{4, 5})),
                      Catch::Contains("input 'y'") && Catch::Contains("float64"));
    CHECK_THROWS_WITH(eval(e, x = tx, y = Tensor::zeros(DType::f32, Shape{4, 6})),
                      Catch::Contains("input 'y'") && Catch::Contains("(?, 5)"));
    CHECK_THROWS_WITH(eval(e, x = tx, y = Tensor::zeros(DType::f32, Shape{3, 5})),
                      Catch::Contains("cannot be broadcast") && Catch::Contains("(3, 5)"));
}
