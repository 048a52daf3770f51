// Compile cost stays sane: an expression of 200 nested ops (its type nests 200 deep) builds,
// evaluates as one loop, emits a 200-op graph and agrees with the interpreter bit for bit.
// This file's compile time and peak memory are what the DSL's report quotes.
#include <catch2/catch.hpp>

#include "nnjit/nnjit.hpp"

using namespace nnjit;

namespace {

constexpr auto x = input<"x", float, Dims<Dynamic, 8>>;
constexpr int kDepth = 200;

// Wraps e in N more ops, cycling through four kinds so the values stay bounded.
template <int N, class E> auto nest(const E& e) {
    if constexpr (N == 0) return e;
    else if constexpr (N % 4 == 0) return nest<N - 1>(tanh(e));
    else if constexpr (N % 4 == 1) return nest<N - 1>(e * 0.75f);
    else if constexpr (N % 4 == 2) return nest<N - 1>(e + x);
    else return nest<N - 1>(leaky_relu(e, 0.1));
}

// Counts the elementwise ops in an expression's type.
template <class E> constexpr int op_count = 0;
template <class R, class... X> constexpr int op_count<ElementwiseExpr<R, X...>> = 1 + (op_count<X> + ...);

}  // namespace

TEST_CASE("expr: 200 nested ops build, evaluate and match the interpreter", "[expr][eval]") {
    const auto e = nest<kDepth>(x);
    STATIC_REQUIRE(op_count<std::remove_cvref_t<decltype(e)>> == kDepth);

    const Bindings bindings{{"x", Tensor::randn(DType::f32, Shape{16, 8}, 3)}};
    Graph g;
    const Value out = to_graph(e, g, bindings);
    int ops = 0;
    for (const Node* n : reachable_nodes(std::vector{out})) ops += is_elementwise(n->op()) ? 1 : 0;
    CHECK(ops == kDepth);

    const Tensor fused = eval(e, bindings);
    const Tensor reference = Interpreter({out}).run(bindings)[0];
    CHECK(bitwise_equal(fused, reference));
}
