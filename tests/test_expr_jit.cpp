// Expressions on the JIT: the same expression run by the JIT, the interpreter and eval(). For
// elementwise float32 graphs all three run op_rules.hpp in the same order, so they agree bit for
// bit (DESIGN.md, principle 2); with matmul and reductions the JIT may reorder sums.
#include <catch2/catch.hpp>

#include "nnjit/nnjit.hpp"

using namespace nnjit;

namespace {

constexpr auto x = input<"x", float, Dims<Dynamic, 16>>;
constexpr auto b = parameter<"b", float, Dims<16>>;

Bindings data(std::int64_t rows) {
    return {{"x", Tensor::randn(DType::f32, Shape{rows, 16}, 21)}, {"b", Tensor::randn(DType::f32, Shape{16}, 22)}};
}

}  // namespace

TEST_CASE("expr on the JIT: elementwise forward and gradient agree bitwise with the interpreter and eval",
          "[expr][jit]") {
    const auto chain = sigmoid(2.0f * x + 0.5f) * relu(x + b);
    const auto act = gelu(x) - softplus(b) * tanh(x);
    for (std::int64_t rows : {1, 37, 1000}) {
        const Bindings bindings = data(rows);
        Graph g;
        const Value y = to_graph(chain, g, bindings);
        const Value z = to_graph(act, g, bindings);
        const Value gx = grad(y, to_graph(x, g, bindings));
        const std::vector<Value> outputs{y, z, gx};
        const auto interp = compile(outputs, Backend::interp)->run(bindings);
        const auto jit = compile(outputs, Backend::jit)->run(bindings);
        for (std::size_t k = 0; k < outputs.size(); ++k) {
            INFO("output " << k << ", rows " << rows);
            CHECK(bitwise_equal(jit[k], interp[k]));
        }
        CHECK(bitwise_equal(jit[0], eval(chain, bindings)));
        CHECK(bitwise_equal(jit[1], eval(act, bindings)));
        // d() is forward mode, grad reverse mode: the same factors, multiplied in another order.
        const Tensor dchain = eval(d(chain, x), bindings);
        for (std::int64_t i = 0; i < dchain.numel(); ++i)
            CHECK(dchain.flat(i) == Approx(jit[2].flat(i)).epsilon(1e-5).margin(1e-6));
    }
}

TEST_CASE("expr on the JIT: a network with matmul, softmax and a loss matches the interpreter", "[expr][jit]") {
    constexpr auto W = parameter<"W", float, Dims<16, 10>>;
    constexpr auto t = input<"t", float, Dims<Dynamic, 10>>;
    Bindings bindings = data(64);
    bindings.emplace("W", Tensor::randn(DType::f32, Shape{16, 10}, 23));
    bindings.emplace("t", Tensor::rand(DType::f32, Shape{64, 10}, 24));
    const auto logits = matmul(relu(x + b), W);
    const auto interp = run(Backend::interp, bindings, softmax(logits), cross_entropy(logits, t), sum<0>(logits));
    const auto jit = run(Backend::jit, bindings, softmax(logits), cross_entropy(logits, t), sum<0>(logits));
    for (std::size_t k = 0; k < interp.size(); ++k) {
        REQUIRE(jit[k].shape() == interp[k].shape());
        for (std::int64_t i = 0; i < interp[k].numel(); ++i)
            CHECK(jit[k].flat(i) == Approx(interp[k].flat(i)).epsilon(1e-5).margin(1e-5));
    }
}
