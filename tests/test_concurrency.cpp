// Concurrency: one compiled Program run from many threads at once gives exactly what
// sequential runs give, with either engine; graphs compile from many threads at once, also
// while the JIT's kernel cache is evicting and unloading code; one nn::Predictor predicts from
// many threads at once, making its plans as they come. CI runs this file under ThreadSanitizer
// too (.ci/sanitize).
#include <catch2/catch.hpp>

#include <atomic>
#include <barrier>
#include <thread>

#include <fmt/format.h>

#include "../jit/engine.hpp"
#include "nnjit/autodiff.hpp"
#include "nnjit/engine.hpp"
#include "nnjit/graph_ops.hpp"
#include "nnjit/nn.hpp"

using namespace nnjit;

namespace {

constexpr int kThreads = 8;

// Runs f(t) on kThreads threads released together, so that their runs overlap.
template <class F> void on_threads(F f) {
    std::barrier start(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
        threads.emplace_back([&, t] {
            start.arrive_and_wait();
            f(t);
        });
    for (auto& th : threads) th.join();
}

// A layer with its loss and gradients: matmul (OpenBLAS), fused elementwise kernels,
// reductions, softmax; and a long vector whose kernel the JIT cuts into chunks run by OpenMP.
struct Model {
    Graph g;
    std::vector<Value> outputs;
    Model() {
        Value x = g.input("x", DType::f32, Shape{32, 24});
        Value w = g.parameter("w", DType::f32, Shape{24, 10});
        Value b = g.parameter("b", DType::f32, Shape{10});
        Value t = g.input("t", DType::f32, Shape{32, 10});
        Value h = sigmoid(matmul(x, w) + b) * 2.0;
        Value loss = cross_entropy(h, t) + mse(h, t);
        const Value wrt[] = {w, b};
        auto grads = grad(loss, wrt);
        Value v = g.input("v", DType::f32, Shape{1 << 19});
        outputs = {loss, softmax(h, 1), grads[0], grads[1], tanh(v) * v, sum(v * v)};
    }
    static Bindings inputs(std::uint64_t seed) {
        return {{"x", Tensor::randn(DType::f32, Shape{32, 24}, seed)},
                {"w", Tensor::randn(DType::f32, Shape{24, 10}, seed + 1)},
                {"b", Tensor::randn(DType::f32, Shape{10}, seed + 2)},
                {"t", Tensor::rand(DType::f32, Shape{32, 10}, seed + 3)},
                {"v", Tensor::randn(DType::f32, Shape{1 << 19}, seed + 4)}};
    }
};

bool all_equal(const std::vector<Tensor>& a, const std::vector<Tensor>& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t k = 0; k < a.size(); ++k)
        if (!bitwise_equal(a[k], b[k])) return false;
    return true;
}

}  // namespace

TEST_CASE("concurrency: one program run from 8 threads at once equals sequential runs", "[threads]") {
    const Model model;
    for (Backend backend : {Backend::interp, Backend::jit}) {
        INFO(backend_name(backend));
        const auto program = compile(model.outputs, backend);
        constexpr int kRuns = 3;
        std::vector<Bindings> inputs;
        std::vector<std::vector<Tensor>> expected;
        for (int t = 0; t < kThreads; ++t) {
            inputs.push_back(Model::inputs(static_cast<std::uint64_t>(100 * t)));
            expected.push_back(program->run(inputs.back()));
        }
        // Different inputs give different results (else equality below would prove little).
        REQUIRE_FALSE(bitwise_equal(expected[0][0], expected[1][0]));
        std::vector<int> mismatches(kThreads, 0);
        on_threads([&](int t) {
            const auto i = static_cast<std::size_t>(t);
            for (int run = 0; run < kRuns; ++run) {
                if (!all_equal(program->run(inputs[i]), expected[i])) ++mismatches[i];
                // run_into too: each thread writes its own outputs.
                std::vector<Tensor> outs;
                for (const Tensor& e : expected[i]) outs.push_back(Tensor::zeros(e.dtype(), e.shape()));
                program->run_into(inputs[i], outs);
                if (!all_equal(outs, expected[i])) ++mismatches[i];
            }
        });
        for (int t = 0; t < kThreads; ++t) {
            INFO("thread " << t);
            CHECK(mismatches[static_cast<std::size_t>(t)] == 0);
        }
    }
}

TEST_CASE("concurrency: 8 threads compile different graphs at once", "[threads][jit]") {
    // Each thread builds and compiles its own graphs (distinct constants: distinct kernels,
    // so LLVM runs on all threads at once), then checks the JIT against the interpreter; for
    // elementwise float32 graphs the two agree bit for bit.
    constexpr int kGraphs = 4;
    std::vector<int> mismatches(kThreads, 0);
    const auto before = jit::Engine::instance().stats();
    on_threads([&](int t) {
        for (int k = 0; k < kGraphs; ++k) {
            Graph g;
            const double c = 1.0 + 0.03125 * (kGraphs * t + k);
            Value x = g.input("x", DType::f32, Shape{5, 40 + t});
            Value gy = g.input("gy", DType::f32, x.shape());
            Value y = gelu(x * c) + sigmoid(x) - c;
            Value gx = grad(y, x, gy);
            const Bindings b{{"x", Tensor::randn(DType::f32, x.shape(), static_cast<std::uint64_t>(t))},
                             {"gy", Tensor::randn(DType::f32, x.shape(), 7)}};
            const auto jit = compile({y, gx}, Backend::jit)->run(b);
            const auto ref = compile({y, gx}, Backend::interp)->run(b);
            if (!all_equal(jit, ref)) ++mismatches[static_cast<std::size_t>(t)];
        }
    });
    for (int t = 0; t < kThreads; ++t) {
        INFO("thread " << t);
        CHECK(mismatches[static_cast<std::size_t>(t)] == 0);
    }
    const auto after = jit::Engine::instance().stats();
    // Every graph was new to this process's cache.
    CHECK(after.compiled + after.disk_hits >= before.compiled + before.disk_hits + kThreads * kGraphs);
}

TEST_CASE("concurrency: programs keep running while other threads evict and unload kernels", "[threads][jit]") {
    jit::Engine& engine = jit::Engine::instance();
    const Model model;
    const auto program = compile(model.outputs, Backend::jit);
    const Bindings inputs = Model::inputs(5);
    const auto expected = program->run(inputs);
    std::atomic<int> mismatches{0};
    const auto before = engine.stats();
    // Half the threads run the program; the others compile throwaway graphs (checked against
    // the interpreter) and clear the cache, so kernels are unloaded while the program's own
    // kernels must stay loaded. (Catch2's assertions are not thread-safe: threads count.)
    on_threads([&](int t) {
        for (int k = 0; k < 6; ++k) {
            if (t % 2 == 0) {
                if (!all_equal(program->run(inputs), expected)) ++mismatches;
                continue;
            }
            Graph g;
            Value x = g.input("x", DType::f32, Shape{3, 7});
            Value y = exp(x * (0.5 + t * 16 + k)) - x;
            const Bindings b{{"x", Tensor::randn(DType::f32, x.shape(), static_cast<std::uint64_t>(k))}};
            const auto got = compile({y}, Backend::jit)->run(b);
            if (!all_equal(got, compile({y}, Backend::interp)->run(b))) ++mismatches;
            if (k % 2 == 1) engine.clear_memory_cache();
        }
    });
    CHECK(mismatches == 0);
    CHECK(engine.stats().unloaded > before.unloaded);
    CHECK(all_equal(program->run(inputs), expected));
}

TEST_CASE("concurrency: one Predictor predicts from 8 threads at once, making its plans as they come", "[threads][jit]") {
    // Batches of 8 rows: 1 to 7 rows is one plan each, 8 and more the full batch's plan plus
    // one for the remainder; the threads ask for them in different orders, at once.
    const nn::Sequential net = nn::mlp({12, 16, 3}, nn::Activation::relu());
    const nn::Parameters params = net.init(DType::f32, 5);
    const int row_counts[] = {1, 3, 8, 11, 5, 16, 2, 7};
    std::vector<Tensor> x, expected;
    const nn::Predictor sequential(net, Backend::jit, DType::f32, 8);
    for (int rows : row_counts) {
        x.push_back(Tensor::randn(DType::f32, Shape{rows, 12}, static_cast<std::uint64_t>(rows)));
        expected.push_back(sequential.predict(x.back(), params));
    }
    const nn::Predictor shared(net, Backend::jit, DType::f32, 8);
    std::vector<int> mismatches(kThreads, 0);
    on_threads([&](int t) {
        for (int round = 0; round < 4; ++round)
            for (std::size_t k = 0; k < x.size(); ++k) {
                const std::size_t i = (k + static_cast<std::size_t>(t)) % x.size();
                if (!bitwise_equal(shared.predict(x[i], params), expected[i])) ++mismatches[static_cast<std::size_t>(t)];
            }
    });
    for (int t = 0; t < kThreads; ++t) {
        INFO("thread " << t);
        CHECK(mismatches[static_cast<std::size_t>(t)] == 0);
    }
}
