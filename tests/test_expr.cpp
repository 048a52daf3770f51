// The expression DSL as a graph builder: to_graph() emits the same nodes the graph factories
// would, every op of the table is reachable, dynamic dimensions come from bound tensors and
// their mistakes are UserErrors.
#include <catch2/catch.hpp>

#include "nnjit/nnjit.hpp"

using namespace nnjit;

namespace {

constexpr auto x = input<"x", float, Dims<Dynamic, 4>>;
constexpr auto b = parameter<"b", float, Dims<4>>;
constexpr auto W = parameter<"W", float, Dims<4, 3>>;

Tensor tx(std::int64_t rows = 3) { return Tensor::randn(DType::f32, Shape{rows, 4}, 7); }
Tensor tb() { return Tensor::from<float>(Shape{4}, {0.5f, -0.25f, 0.125f, 1.0f}); }
Tensor tw() { return Tensor::randn(DType::f32, Shape{4, 3}, 11); }

// Runs a graph built by hand on the interpreter.
Tensor interpret(Value v, const Bindings& bindings) { return Interpreter({v}).run(bindings)[0]; }

}  // namespace

TEST_CASE("expr: static dims and dtypes are part of the type", "[expr]") {
    using E = decltype(relu(x * 2.0f + b));
    STATIC_REQUIRE(std::is_same_v<E::value_type, float>);
    STATIC_REQUIRE(std::is_same_v<E::dims, Dims<Dynamic, 4>>);
    STATIC_REQUIRE(std::is_same_v<decltype(matmul(x, W))::dims, Dims<Dynamic, 3>>);
    STATIC_REQUIRE(std::is_same_v<decltype(sum<0>(matmul(x, W)))::dims, Dims<3>>);
    STATIC_REQUIRE(std::is_same_v<decltype(mean<-1, true>(matmul(x, W)))::dims, Dims<Dynamic, 1>>);
    STATIC_REQUIRE(std::is_same_v<decltype(transpose(W))::dims, Dims<3, 4>>);
    STATIC_REQUIRE(std::is_same_v<decltype(mse(x, x))::dims, Dims<>>);
    STATIC_REQUIRE(E::loopable);
    STATIC_REQUIRE_FALSE(decltype(matmul(x, W))::loopable);
    // A dynamic dimension meets a static one: the static one wins, 1 broadcasts.
    STATIC_REQUIRE(std::is_same_v<decltype(input<"a", double, Dims<Dynamic, 1>> +
                                           input<"c", double, Dims<5>>)::dims,
                                  Dims<Dynamic, 5>>);
}

TEST_CASE("expr: operands are held by value", "[expr]") {
    auto make = [] {
        const float scale = 3.0f;  // gone when the lambda returns
        return relu(x * scale) + 1.0f;
    };
    const auto e = make();
    const Bindings bindings{{"x", tx()}};
    const Tensor got = run(Backend::interp, bindings, e)[0];
    Graph g;
    const Value gx = g.input("x", DType::f32, Shape{3, 4});
    CHECK(bitwise_equal(got, interpret(relu(gx * 3.0) + 1.0, bindings)));
}

TEST_CASE("expr: to_graph emits the nodes the factories build, shared sub-expressions once", "[expr]") {
    const auto s = x * b;
    const auto e = sigmoid(s) + s;  // s twice
    const Bindings bindings{{"x", tx()}, {"b", tb()}};
    Graph g;
    const Value out = to_graph(e, g, bindings);
    const Value gx = g.input("x", DType::f32, Shape{3, 4});
    const Value gb = g.parameter("b", DType::f32, Shape{4});
    const Value gs = gx * gb;
    CHECK(out == sigmoid(gs) + gs);  // hash-consing: the very same node
    int muls = 0;
    for (const Node* n : reachable_nodes(std::vector{out})) muls += n->op() == Op::Mul ? 1 : 0;
    CHECK(muls == 1);
    CHECK(g.find_placeholder("b")->op() == Op::Parameter);
    CHECK(g.find_placeholder("x")->op() == Op::Input);
}

TEST_CASE("expr: structural ops match their graph factories", "[expr]") {
    const Bindings bindings{{"x", tx(5)}, {"b", tb()}, {"W", tw()}, {"t", Tensor::rand(DType::f32, Shape{5, 3}, 3)}};
    constexpr auto t = input<"t", float, Dims<Dynamic, 3>>;
    const auto h = matmul(relu(x + b), W);
    Graph g;
    const Value gx = g.input("x", DType::f32, Shape{5, 4});
    const Value gb = g.parameter("b", DType::f32, Shape{4});
    const Value gw = g.parameter("W", DType::f32, Shape{4, 3});
    const Value gt = g.input("t", DType::f32, Shape{5, 3});
    const Value gh = matmul(relu(gx + gb), gw);

    const auto check = [&](const auto& e, Value expected) {
        Graph eg;
        const Value v = to_graph(e, eg, bindings);
        CHECK(v.shape() == expected.shape());
        CHECK(bitwise_equal(interpret(v, bindings), interpret(expected, bindings)));
    };
    check(h, gh);
    check(sum(h), sum(gh));
    check(mean(h), mean(gh));
    check(sum<0>(h), sum(gh, std::int64_t{0}));
    check(mean<-1, true>(h), mean(gh, -1, true));
    check(sum(h, 1), sum(gh, std::int64_t{1}));
    check(mean(h, 0), mean(gh, std::int64_t{0}));
    check(max(h), max(gh));
    check(min<1, true>(h), min(gh, 1, true));
    check(max(h, 0), max(gh, std::int64_t{0}));
    check(softmax(h), softmax(gh));
    check(log_softmax(h, 0), log_softmax(gh, 0));
    check(transpose(h), transpose(gh));
    check(transpose<1, 0>(h), transpose(gh, {1, 0}));
    check(reshape<Dims<3, 4>>(W), reshape(gw, Shape{3, 4}));
    check(broadcast_to<Dims<2, 4>>(b), broadcast_to(gb, Shape{2, 4}));
    check(mse(h, t), mse(gh, gt));
    check(cross_entropy(h, t), cross_entropy(gh, gt));
    check(where(greater(x, 0.0f), x, b * 2.0f), where(greater(gx, gx.graph().constant(0.0)), gx, gb * 2.0));
    check(prelu(x, b), prelu(gx, gb));
    check(maximum(x, b) - minimum(x, 0.5f), maximum(gx, gb) - minimum(gx, g.constant(0.5)));
    check(equal(x, x) / 2.0f, equal(gx, gx) / 2.0);
    check(x > b, greater(gx, gb));
    check(x < 0.5f, greater(g.constant(0.5), gx));
    check(x >= b, greater(gx, gb) + equal(gx, gb));
    check(b <= x, greater(gx, gb) + equal(gb, gx));
    check(x == b, equal(gx, gb));
    check(x != b, 1.0 - equal(gx, gb));
    check(clamp(x, -0.5, 0.25), clamp(gx, -0.5, 0.25));
    CHECK_THROWS_WITH(clamp(x, 2.0, 1.0), "clamp: the bounds must have lo <= hi, got lo = 2, hi = 1");
    check(-x, -gx);
}

TEST_CASE("expr: dynamic dimensions are resolved from the bound tensors", "[expr]") {
    const auto e = relu(x + b);
    for (std::int64_t rows : {1, 3, 17}) {
        Graph g;
        const Value v = to_graph(e, g, {{"x", tx(rows)}, {"b", tb()}});
        CHECK(v.shape() == Shape{rows, 4});
    }
}

TEST_CASE("expr: placeholder mistakes are UserErrors that name the placeholder", "[expr][error]") {
    const auto e = relu(x + b);
    Graph g;
    // A dynamic placeholder needs a tensor.
    CHECK_THROWS_WITH(to_graph(e, g, {{"b", tb()}}),
                      Catch::Contains("input 'x'") && Catch::Contains("(?, 4)") && Catch::Contains("bind"));
    // A static dimension contradicted by the tensor.
    CHECK_THROWS_WITH(to_graph(e, g, {{"x", Tensor::zeros(DType::f32, Shape{3, 5})}, {"b", tb()}}),
                      Catch::Contains("input 'x'") && Catch::Contains("(3, 5)"));
    // The wrong dtype.
    CHECK_THROWS_WITH(to_graph(e, g, {{"x", tx()}, {"b", Tensor::zeros(DType::f64, Shape{4})}}),
                      Catch::Contains("parameter 'b'") && Catch::Contains("float64"));
}

TEST_CASE("expr: dynamic dimensions that do not fit fail at run time with the factory's message", "[expr][error]") {
    constexpr auto a = input<"a", float, Dims<Dynamic, Dynamic>>;
    constexpr auto c = input<"c", float, Dims<Dynamic, Dynamic>>;
    const auto build = [](const auto& e, Shape sa, Shape sc) {
        Graph g;  // a fresh graph each time: a graph keeps a placeholder's first shape
        return to_graph(e, g, {{"a", Tensor::zeros(DType::f32, sa)}, {"c", Tensor::zeros(DType::f32, sc)}});
    };
    CHECK_NOTHROW(build(matmul(a, c), Shape{2, 3}, Shape{3, 2}));
    CHECK_THROWS_WITH(build(matmul(a, c), Shape{2, 3}, Shape{4, 2}), Catch::Contains("matmul: inner dimensions differ"));
    CHECK_NOTHROW(build(a + c, Shape{2, 3}, Shape{1, 3}));
    CHECK_THROWS_WITH(build(a + c, Shape{2, 3}, Shape{2, 4}),
                      Catch::Contains("add") && Catch::Contains("(2, 3)") && Catch::Contains("(2, 4)"));
    CHECK_THROWS_WITH(build(sum(a, 2) + c, Shape{2, 3}, Shape{2}), Catch::Contains("sum"));
}

TEST_CASE("expr: run() compiles several outputs of one graph", "[expr][interp]") {
    const Bindings bindings{{"x", tx()}, {"b", tb()}, {"W", tw()}};
    const auto h = relu(x + b);
    const auto outs = run(Backend::interp, bindings, h, matmul(h, W), sum(h));
    REQUIRE(outs.size() == 3);
    CHECK(outs[0].shape() == Shape{3, 4});
    CHECK(outs[1].shape() == Shape{3, 3});
    CHECK(outs[2].shape() == Shape{});
    double total = 0;
    for (double v : outs[0].to_doubles()) total += v;
    CHECK(outs[2].flat(0) == Approx(total).epsilon(1e-6));
}
