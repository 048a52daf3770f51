// Elementwise workloads on every engine, named WORKLOAD/ENGINE/SIZE, with the STREAM-like
// loops that give the memory limit in the same binary. Counters: bytes/s is the minimum a
// fused kernel must move; elements/s is elements of x processed.
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <memory>

#include "hand_kernels.hpp"
#include "nnjit/autodiff.hpp"
#include "nnjit/engine.hpp"
#include "nnjit/error.hpp"
#include "nnjit/graph_ops.hpp"
#include "workloads.hpp"

namespace nnjit::bench {
namespace {

void set_counters(benchmark::State& state, std::int64_t n, std::int64_t bytes_per_element) {
    state.SetItemsProcessed(state.iterations() * n);
    state.SetBytesProcessed(state.iterations() * n * bytes_per_element);
}

// Inputs drawn so that every activation sees both signs and its saturated tails.
Tensor bench_input(std::int64_t n, std::uint64_t seed) {
    Tensor t = Tensor::randn(DType::f32, Shape{n}, seed);
    float* p = t.data<float>();
    for (std::int64_t i = 0; i < n; ++i) p[i] *= 3.0f;
    return t;
}

void register_hand(const Workload& w, std::int64_t n) {
    benchmark::RegisterBenchmark(fmt::format("{}/hand/{}", w.name, n).c_str(), [&w, n](benchmark::State& state) {
        const Tensor x = bench_input(n, 1), gy = bench_input(n, 2);
        Tensor y = Tensor::zeros(DType::f32, Shape{n}), gx = Tensor::zeros(DType::f32, Shape{n});
        auto run = [&] {
            if (w.backward) w.hand_fwd_bwd(x.data<float>(), gy.data<float>(), y.data<float>(), gx.data<float>(), n);
            else w.hand_fwd(x.data<float>(), y.data<float>(), n);
        };
        run();  // warm-up, untimed, as for every engine
        for (auto _ : state) {
            run();
            benchmark::ClobberMemory();
        }
        set_counters(state, n, w.bytes_per_element());
    });
}

// Every engine writes into preallocated outputs (run_into), as a compiled plan is used in a
// loop; the interpreter still materialises each intermediate, from its buffer pool.
void register_engine(const Workload& w, std::int64_t n, Backend backend) {
    auto graph = std::make_shared<Graph>();
    Value x = graph->input("x", DType::f32, Shape{n});
    Value y = w.forward(x);
    std::vector<Value> outputs{y};
    if (w.backward) outputs.push_back(grad(y, x, graph->input("gy", DType::f32, Shape{n})));
    std::shared_ptr<Program> program;
    try {
        program = compile(outputs, backend);
    } catch (const UserError& e) {
        fmt::print(stderr, "skipping {}/{}: {}\n", w.name, backend_name(backend), e.what());
        return;
    }
    const std::string name = fmt::format("{}/{}/{}", w.name, backend_name(backend), n);
    benchmark::RegisterBenchmark(name.c_str(), [graph, program, &w, n](benchmark::State& state) {
        Bindings bindings{{"x", bench_input(n, 1)}};
        if (w.backward) bindings.emplace("gy", bench_input(n, 2));
        std::vector<Tensor> results{Tensor::zeros(DType::f32, Shape{n})};
        if (w.backward) results.push_back(Tensor::zeros(DType::f32, Shape{n}));
        program->run_into(bindings, results);  // warm-up, untimed: first-touch page faults, buffer pools
        for (auto _ : state) {
            program->run_into(bindings, results);
            benchmark::ClobberMemory();
        }
        set_counters(state, n, w.bytes_per_element());
    });
}

void register_stream(std::int64_t n) {
    auto reg = [n](const char* name, int reads, int writes, auto body) {
        benchmark::RegisterBenchmark(fmt::format("{}/hand/{}", name, n).c_str(),
                                     [n, reads, writes, body](benchmark::State& state) {
                                         const Tensor a = bench_input(n, 1), b = bench_input(n, 2);
                                         Tensor c = Tensor::zeros(DType::f32, Shape{n});
                                         Tensor d = Tensor::zeros(DType::f32, Shape{n});
                                         for (auto _ : state) {
                                             body(a.data<float>(), b.data<float>(), c.data<float>(), d.data<float>(), n);
                                             benchmark::ClobberMemory();
                                         }
                                         set_counters(state, n, 4 * (reads + writes));
                                     });
    };
    reg("stream_copy", 1, 1, [](const float* a, const float*, float* c, float*, std::int64_t m) { stream_copy(a, c, m); });
    reg("stream_triad", 2, 1,
        [](const float* a, const float* b, float* c, float*, std::int64_t m) { stream_triad(a, b, c, m); });
    reg("stream_2r2w", 2, 2,
        [](const float* a, const float* b, float* c, float* d, std::int64_t m) { stream_2r2w(a, b, c, d, m); });
}

}  // namespace
}  // namespace nnjit::bench

int main(int argc, char** argv) {
    using namespace nnjit::bench;
    for (std::int64_t n : kSizes) {
        register_stream(n);
        for (const auto& w : elementwise_workloads()) {
            register_hand(w, n);
            register_engine(w, n, nnjit::Backend::interp);
            register_engine(w, n, nnjit::Backend::jit);
        }
    }
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
}
