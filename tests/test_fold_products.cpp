// fold_products: which sums of a matrix product become one matmul_acc (BLAS gemm with alpha
// and beta), that the folded graph computes what the original did on both engines, and what
// is left alone.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>

#include "nnjit/autodiff.hpp"
#include "nnjit/engine.hpp"
#include "nnjit/fold_products.hpp"
#include "nnjit/graph_ops.hpp"
#include "nnjit/nn.hpp"

using namespace nnjit;

namespace {

int count_ops(std::span<const Value> outputs, Op op) {
    const auto nodes = reachable_nodes(outputs);
    return static_cast<int>(std::count_if(nodes.begin(), nodes.end(), [&](const Node* n) { return n->op() == op; }));
}

double max_rel_diff(const Tensor& a, const Tensor& b) {
    double worst = 0, scale = 1;
    for (std::int64_t i = 0; i < a.numel(); ++i) {
        worst = std::max(worst, std::abs(a.flat(i) - b.flat(i)));
        scale = std::max(scale, std::abs(b.flat(i)));
    }
    return worst / scale;
}

// x (16, 24), dz (16, 8), w and v (24, 8), lr a scalar input.
Bindings sgd_bindings() {
    return {{"x", Tensor::randn(DType::f32, Shape{16, 24}, 1)},
            {"dz", Tensor::randn(DType::f32, Shape{16, 8}, 2)},
            {"w", Tensor::randn(DType::f32, Shape{24, 8}, 3)},
            {"v", Tensor::randn(DType::f32, Shape{24, 8}, 4)},
            {"lr", Tensor::scalar(DType::f32, 0.05)}};
}

// Runs the original and the folded outputs on both engines: the folded graph agrees with the
// original to float32 rounding of one sum (BLAS may fuse beta * c + alpha * p), and the two
// engines run the same matmul_acc kernel, so they agree bit for bit on it.
void check_same_results(const std::vector<Value>& original, const std::vector<Value>& folded) {
    const Bindings b = sgd_bindings();
    const auto want = compile(original, Backend::interp)->run(b);
    const auto interp = compile(folded, Backend::interp)->run(b);
    const auto jit = compile(folded, Backend::jit)->run(b);
    for (std::size_t i = 0; i < want.size(); ++i) {
        CAPTURE(i);
        CHECK(max_rel_diff(interp[i], want[i]) <= 1e-6);
        CHECK(bitwise_equal(jit[i], interp[i]));
    }
}

}  // namespace

TEST_CASE("fold_products: an SGD update w - lr * (x^T @ dz) is one matmul_acc", "[fold][jit][interp]") {
    Graph g;
    const Value x = g.input("x", DType::f32, Shape{16, 24}), dz = g.input("dz", DType::f32, Shape{16, 8});
    const Value w = g.parameter("w", DType::f32, Shape{24, 8}), lr = g.input("lr", DType::f32, Shape{});
    const std::vector<Value> original{w - lr * matmul(transpose(x), dz)};
    const auto folded = fold_products(original);
    REQUIRE(folded.size() == 1);
    CHECK(folded[0].node()->op() == Op::MatMulAcc);
    CHECK(folded[0].node()->attrs().alpha == 1.0);  // beta
    CHECK(folded[0].node()->input(2) == w.node());
    CHECK(count_ops(folded, Op::MatMul) == 0);
    check_same_results(original, folded);
}

TEST_CASE("fold_products: momentum's mu * v + x^T @ dz is one matmul_acc with beta = mu", "[fold][jit][interp]") {
    Graph g;
    const Value x = g.input("x", DType::f32, Shape{16, 24}), dz = g.input("dz", DType::f32, Shape{16, 8});
    const Value w = g.parameter("w", DType::f32, Shape{24, 8}), v = g.input("v", DType::f32, Shape{24, 8});
    const Value lr = g.input("lr", DType::f32, Shape{});
    const Value velocity = 0.9 * v + matmul(transpose(x), dz);
    const std::vector<Value> original{w - lr * velocity, velocity};
    const auto folded = fold_products(original);
    REQUIRE(folded[1].node()->op() == Op::MatMulAcc);
    CHECK(folded[1].node()->attrs().alpha == Approx(0.9));
    CHECK(folded[1].node()->input(2) == v.node());
    // The weight update reads the folded velocity: it is rebuilt on the new node.
    CHECK(folded[0].node()->op() == Op::Sub);
    CHECK(count_ops(folded, Op::MatMul) == 0);
    check_same_results(original, folded);
}

TEST_CASE("fold_products: a product read elsewhere, a broadcast bias, a non-scalar scale stay as they are",
          "[fold]") {
    Graph g;
    const Value x = g.input("x", DType::f32, Shape{16, 24}), dz = g.input("dz", DType::f32, Shape{16, 8});
    const Value w = g.parameter("w", DType::f32, Shape{24, 8}), lr = g.input("lr", DType::f32, Shape{});
    const Value b = g.parameter("b", DType::f32, Shape{8}), per_column = g.input("s", DType::f32, Shape{8});
    const Value dw = matmul(transpose(x), dz);
    SECTION("the gradient is also an output (a diagnostic reads it)") {
        const std::vector<Value> outputs{w - lr * dw, sum(dw * dw)};
        const auto folded = fold_products(outputs);
        CHECK(folded[0] == outputs[0]);
        CHECK(count_ops(folded, Op::MatMulAcc) == 0);
    }
    SECTION("a layer's bias is added in the elementwise kernel") {
        const std::vector<Value> outputs{relu(matmul(x, w) + b)};
        CHECK(fold_products(outputs)[0] == outputs[0]);
    }
    SECTION("a scale per column is not BLAS's alpha") {
        const std::vector<Value> outputs{w - per_column * dw};
        CHECK(fold_products(outputs)[0] == outputs[0]);
    }
}

TEST_CASE("fold_products: plain SGD through the trainer is p - lr * g", "[fold][nn][optimizer]") {
    const auto net = nn::mlp({3, 4, 2}, nn::Activation::tanh());
    const nn::Parameters start = net.init(DType::f64, 3);
    const Tensor x = Tensor::randn(DType::f64, Shape{5, 3}, 4), t = Tensor::randn(DType::f64, Shape{5, 2}, 5);
    Graph g;
    const Value l = nn::loss_value(nn::Loss::mse, net.forward(g.input("x", DType::f64, Shape{5, 3})),
                                   g.input("target", DType::f64, Shape{5, 2}));
    std::vector<Value> wrt;
    for (const auto& s : net.parameter_specs()) wrt.push_back(g.parameter(s.name, DType::f64, s.shape));
    Bindings b{{"x", x}, {"target", t}};
    for (const auto& e : start.entries()) b.emplace(e.name, e.value);
    const auto grads = compile(grad(l, wrt), Backend::interp)->run(b);

    const double lr = 0.1;
    for (const Backend backend : {Backend::interp, Backend::jit}) {
        CAPTURE(backend_name(backend));
        nn::Trainer trainer(net, start, nn::Loss::mse, nn::Sgd(lr),
                            {.backend = backend, .dtype = DType::f64, .batch_size = 5, .seed = 0});
        // The weight updates are folded into their gradients' products.
        CHECK(trainer.step_graph().find("matmul_acc") != std::string::npos);
        trainer.step(x, t);
        const nn::Parameters p1 = trainer.parameters();
        std::size_t k = 0;
        for (const auto& e : start.entries()) {
            CAPTURE(e.name);
            for (std::int64_t i = 0; i < e.value.numel(); ++i)
                CHECK(p1.at(e.name).flat(i) == Approx(e.value.flat(i) - lr * grads[k].flat(i)).epsilon(1e-14).margin(1e-15));
            ++k;
        }
    }
}

TEST_CASE("matmul_acc: shapes that do not fit are errors naming them", "[fold][error]") {
    Graph g;
    const Value a = g.input("a", DType::f32, Shape{3, 4}), b = g.input("b", DType::f32, Shape{4, 5});
    const Value s = g.input("s", DType::f32, Shape{});
    CHECK_THROWS_WITH(matmul_acc(a, b, g.input("c", DType::f32, Shape{3, 4}), s),
                      Catch::Contains("accumulator has shape (3, 4)") && Catch::Contains("has shape (3, 5)"));
    CHECK_THROWS_WITH(matmul_acc(a, a, g.input("d", DType::f32, Shape{3, 4}), s),
                      Catch::Contains("inner dimensions differ"));
    CHECK_THROWS_WITH(matmul_acc(a, b, g.input("e", DType::f32, Shape{3, 5}), g.input("v", DType::f32, Shape{2})),
                      Catch::Contains("scale must be a scalar"));
}
