// nn layers, losses and optimizers: whole-network gradients against finite differences in
// float64, the optimizers' updates against their formulas, the builders' errors.
#include <catch2/catch.hpp>

#include <cmath>

#include "nnjit/autodiff.hpp"
#include "nnjit/engine.hpp"
#include "nnjit/graph_ops.hpp"
#include "nnjit/nn.hpp"

using namespace nnjit;

namespace {

Bindings bind(const nn::Parameters& params) {
    Bindings b;
    for (const auto& e : params.entries()) b.emplace(e.name, e.value);
    return b;
}

// Targets that fit each loss: one-hot rows, values in [0, 1], any values.
Tensor target_for(nn::Loss loss, std::int64_t rows, std::int64_t cols, std::uint64_t seed) {
    if (loss == nn::Loss::softmax_cross_entropy) {
        Tensor labels = Tensor::empty(DType::f64, Shape{rows});
        for (std::int64_t i = 0; i < rows; ++i) labels.data<double>()[i] = static_cast<double>((i * 7 + 3) % cols);
        return nn::one_hot(labels, cols, DType::f64);
    }
    if (loss == nn::Loss::binary_cross_entropy) return Tensor::rand(DType::f64, Shape{rows, cols}, seed);
    return Tensor::randn(DType::f64, Shape{rows, cols}, seed);
}

}  // namespace

TEST_CASE("nn: whole-network gradients match central finite differences in float64", "[nn][autodiff]") {
    const char* activations[] = {"relu", "leaky_relu", "prelu", "sigmoid", "tanh", "elu", "gelu", "silu", "softplus"};
    const nn::Loss losses[] = {nn::Loss::softmax_cross_entropy, nn::Loss::mse, nn::Loss::binary_cross_entropy};
    std::uint64_t seed = 10;
    for (const char* name : activations)
        for (const nn::Loss loss : losses) {
            CAPTURE(name, nn::loss_name(loss));
            ++seed;
            const auto net = nn::mlp({3, 5, 4, 3}, nn::Activation::parse(name));
            nn::Parameters params = net.init(DType::f64, seed);
            // Non-zero biases and slopes so that every parameter is exercised off its start.
            for (const auto& e : params.entries()) {
                const Tensor noise = Tensor::randn(DType::f64, e.value.shape(), seed * 31 + e.value.numel());
                for (std::int64_t i = 0; i < e.value.numel(); ++i)
                    const_cast<Tensor&>(e.value).data<double>()[i] += 0.1 * noise.data<double>()[i];
            }
            Graph g;
            const Value x = g.input("x", DType::f64, Shape{6, 3});
            const Value t = g.input("target", DType::f64, Shape{6, 3});
            const Value l = nn::loss_value(loss, net.forward(x), t);
            std::vector<Value> wrt;
            for (const auto& e : params.entries()) wrt.push_back(g.parameter(e.name, DType::f64, e.value.shape()));
            auto outputs = grad(l, wrt);
            outputs.insert(outputs.begin(), l);
            const auto program = compile(outputs, Backend::interp);
            const auto loss_only = compile({l}, Backend::interp);

            Bindings b = bind(params);
            b.emplace("x", Tensor::randn(DType::f64, Shape{6, 3}, seed + 1000));
            b.emplace("target", target_for(loss, 6, 3, seed + 2000));
            const auto analytic = program->run(b);
            const double h = 1e-6;
            std::size_t k = 1;
            for (const auto& e : params.entries()) {
                CAPTURE(e.name);
                double* p = b.at(e.name).data<double>();
                for (std::int64_t i = 0; i < e.value.numel(); ++i) {
                    const double saved = p[i];
                    p[i] = saved + h;
                    const double up = loss_only->run(b)[0].flat(0);
                    p[i] = saved - h;
                    const double down = loss_only->run(b)[0].flat(0);
                    p[i] = saved;
                    const double numeric = (up - down) / (2 * h);
                    // Central differences in float64 with h = 1e-6: truncation ~h^2, rounding
                    // ~1e-16 / h, so 1e-7 leaves a wide margin and still catches any wrong rule.
                    CHECK(analytic[k].flat(i) == Approx(numeric).margin(1e-7).epsilon(1e-6));
                }
                ++k;
            }
        }
}

TEST_CASE("nn: a dense layer computes act(x @ W + b) with the initialisation its activation asks", "[nn]") {
    const nn::Dense layer{"fc", 4, 3, nn::Activation::tanh()};
    nn::Parameters params;
    layer.init(params, DType::f64, 5);
    REQUIRE(params.size() == 2);
    const Tensor& w = params.at("fc.weight");
    CHECK(w.shape() == Shape{4, 3});
    const double limit = std::sqrt(6.0 / 7.0);
    for (std::int64_t i = 0; i < w.numel(); ++i) CHECK(std::abs(w.flat(i)) <= limit);
    for (std::int64_t i = 0; i < 3; ++i) CHECK(params.at("fc.bias").flat(i) == 0.0);

    Graph g;
    const Value x = g.input("x", DType::f64, Shape{2, 4});
    const auto out = compile({layer.forward(x)}, Backend::interp);
    Bindings b = bind(params);
    params.at("fc.bias").data<double>()[1] = 0.25;
    const Tensor xv = Tensor::randn(DType::f64, Shape{2, 4}, 9);
    b.emplace("x", xv);
    const Tensor y = out->run(b)[0];
    for (std::int64_t r = 0; r < 2; ++r)
        for (std::int64_t c = 0; c < 3; ++c) {
            double z = params.at("fc.bias").flat(c);
            for (std::int64_t i = 0; i < 4; ++i) z += xv.at({r, i}) * w.at({i, c});
            CHECK(y.at({r, c}) == Approx(std::tanh(z)).epsilon(1e-12));
        }
}

TEST_CASE("nn: He initialisation has the variance 2 / fan_in, and seeds give distinct, repeatable weights", "[nn]") {
    const auto net = nn::mlp({400, 300, 10}, nn::Activation::relu());
    const nn::Parameters a = net.init(DType::f64, 1), b = net.init(DType::f64, 1), c = net.init(DType::f64, 2);
    const Tensor& w = a.at("dense0.weight");
    double s2 = 0;
    for (std::int64_t i = 0; i < w.numel(); ++i) s2 += w.flat(i) * w.flat(i);
    // 120,000 draws: the sample variance is within 2% of 2/400 with overwhelming probability.
    CHECK(s2 / static_cast<double>(w.numel()) == Approx(2.0 / 400).epsilon(0.02));
    CHECK(bitwise_equal(w, b.at("dense0.weight")));
    CHECK_FALSE(bitwise_equal(w, c.at("dense0.weight")));
    CHECK_FALSE(bitwise_equal(a.at("dense1.weight"), c.at("dense1.weight")));
}

TEST_CASE("nn: a trainer step is the optimizer's formula applied to the gradient", "[nn][optimizer]") {
    const auto net = nn::mlp({3, 4, 2}, nn::Activation::tanh());
    const nn::Parameters start = net.init(DType::f64, 3);
    const Tensor x = Tensor::randn(DType::f64, Shape{5, 3}, 4), t = Tensor::randn(DType::f64, Shape{5, 2}, 5);

    // Gradients by a separate graph, at any parameter values.
    Graph g;
    const Value xi = g.input("x", DType::f64, Shape{5, 3}), ti = g.input("target", DType::f64, Shape{5, 2});
    const Value l = nn::loss_value(nn::Loss::mse, net.forward(xi), ti);
    std::vector<Value> wrt;
    for (const auto& s : net.parameter_specs()) wrt.push_back(g.parameter(s.name, DType::f64, s.shape));
    const auto grads = compile(grad(l, wrt), Backend::interp);
    auto gradients_at = [&](const nn::Parameters& p) {
        Bindings b = bind(p);
        b.emplace("x", x);
        b.emplace("target", t);
        return grads->run(b);
    };
    const nn::TrainerOptions options{.backend = Backend::interp, .dtype = DType::f64, .batch_size = 5, .seed = 0};

    SECTION("sgd with momentum, two steps") {
        const double lr = 0.1, mu = 0.9;
        nn::Trainer trainer(net, start, nn::Loss::mse, nn::Sgd(lr, mu), options);
        trainer.step(x, t);
        const nn::Parameters p1 = trainer.parameters();
        trainer.step(x, t);
        const nn::Parameters p2 = trainer.parameters();
        const auto g0 = gradients_at(start), g1 = gradients_at(p1);
        std::size_t k = 0;
        for (const auto& e : start.entries()) {
            CAPTURE(e.name);
            for (std::int64_t i = 0; i < e.value.numel(); ++i) {
                const double v1 = g0[k].flat(i), x1 = e.value.flat(i) - lr * v1;
                const double v2 = mu * v1 + g1[k].flat(i), x2 = x1 - lr * v2;
                CHECK(p1.at(e.name).flat(i) == Approx(x1).epsilon(1e-14).margin(1e-15));
                CHECK(p2.at(e.name).flat(i) == Approx(x2).epsilon(1e-14).margin(1e-15));
                CHECK(trainer.optimizer_state().at("velocity/" + e.name).flat(i) ==
                      Approx(v2).epsilon(1e-14).margin(1e-15));
            }
            ++k;
        }
    }
    SECTION("adam, first step: m and v are unbiased to g and g^2") {
        const double lr = 0.01, eps = 1e-8;
        nn::Trainer trainer(net, start, nn::Loss::mse, nn::Adam(lr, 0.9, 0.999, eps), options);
        trainer.step(x, t);
        const auto g0 = gradients_at(start);
        const nn::Parameters p1 = trainer.parameters();
        std::size_t k = 0;
        for (const auto& e : start.entries()) {
            CAPTURE(e.name);
            for (std::int64_t i = 0; i < e.value.numel(); ++i) {
                const double gi = g0[k].flat(i);
                CHECK(p1.at(e.name).flat(i) == Approx(e.value.flat(i) - lr * gi / (std::abs(gi) + eps)).epsilon(1e-12));
            }
            ++k;
        }
    }
}

TEST_CASE("nn: the builders reject what cannot work, naming it", "[nn][error]") {
    nn::Sequential net;
    net.add(nn::Dense{"a", 4, 8, nn::Activation::relu()});
    CHECK_THROWS_WITH(net.add(nn::Dense{"b", 5, 2, {}}), Catch::Contains("'b' takes 5 inputs but layer 'a' gives 8"));
    CHECK_THROWS_WITH(net.add(nn::Dense{"a", 8, 2, {}}), Catch::Contains("two layers are named 'a'"));
    CHECK_THROWS_WITH(nn::Activation::parse("swish"), Catch::Contains("unknown activation 'swish'") &&
                                                          Catch::Contains("gelu"));
    CHECK_THROWS_WITH(nn::mlp({4}, nn::Activation::relu()), Catch::Contains("at least an input and an output"));
    CHECK_THROWS_AS(nn::Adam(-1), UserError);
    CHECK_THROWS_AS(nn::Sgd(0.1, 1.0), UserError);

    Graph g;
    const Value x = g.input("x", DType::f32, Shape{2, 5});
    CHECK_THROWS_WITH(net.forward(x), Catch::Contains("layer 'a' takes (batch, 4), got shape (2, 5)"));

    nn::Trainer trainer(nn::mlp({4, 3}, nn::Activation::identity()), nn::Loss::mse, nn::Sgd(0.1),
                        {.batch_size = 2});
    CHECK_THROWS_WITH(trainer.step(Tensor::zeros(DType::f32, Shape{3, 4}), Tensor::zeros(DType::f32, Shape{3, 3})),
                      Catch::Contains("x must be float32 (2, 4), got float32 (3, 4)"));
    CHECK_THROWS_WITH(nn::binary_cross_entropy_with_logits(x, g.input("t", DType::f32, Shape{2, 4})),
                      Catch::Contains("(2, 5) and (2, 4)"));
}

TEST_CASE("nn: a custom activation is any function of a Value", "[nn]") {
    const auto square = nn::Activation::custom("square", [](Value v) { return v * v; }, nn::Init::glorot_uniform);
    nn::Sequential net;
    net.add(nn::Dense{"d", 2, 3, square});
    const nn::Parameters p = net.init(DType::f64, 1);
    Graph g;
    const Value x = g.input("x", DType::f64, Shape{1, 2});
    Bindings b = bind(p);
    b.emplace("x", Tensor::from<double>(Shape{1, 2}, {1.0, -2.0}));
    const Tensor y = compile({net.forward(x)}, Backend::interp)->run(b)[0];
    for (std::int64_t c = 0; c < 3; ++c) {
        const double z = p.at("d.weight").at({0, c}) - 2 * p.at("d.weight").at({1, c});
        CHECK(y.at({0, c}) == Approx(z * z).epsilon(1e-12));
    }
    CHECK(square.name() == "square");
}
