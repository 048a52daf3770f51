// Elementwise workloads on every engine, named WORKLOAD/ENGINE/SIZE, with the STREAM-like
// loops that give the memory limit in the same binary. Counters: bytes/s is the minimum a
// fused kernel must move; elements/s is elements of x processed.
//
// Engines: interp and jit run an nnjit Program; hand, et and the peers found at configure time
// (eigen, onednn, halide, libtorch) run on preallocated buffers (native_engine.hpp). Before a
// native engine is timed its outputs are compared with the interpreter's: an engine that
// computes something else is reported and skipped, never timed.
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <cmath>
#include <map>
#include <memory>
#include <optional>
#include <string_view>

#include "hand_kernels.hpp"
#include "native_engine.hpp"
#include "nnjit/autodiff.hpp"
#include "nnjit/engine.hpp"
#include "nnjit/error.hpp"
#include "nnjit/graph_ops.hpp"
#include "peers/peers.hpp"
#include "workloads.hpp"

namespace nnjit::bench {
namespace {

void set_counters(benchmark::State& state, std::int64_t n, std::int64_t bytes_per_element) {
    state.SetItemsProcessed(state.iterations() * n);
    state.SetBytesProcessed(state.iterations() * n * bytes_per_element);
}

// Inputs drawn so that every activation sees both signs and its saturated tails. Drawn once
// per size and seed and shared (every engine only reads them): drawing 16M normals for each
// repetition would cost more than the measurement.
Tensor bench_input(std::int64_t n, std::uint64_t seed) {
    static std::map<std::pair<std::int64_t, std::uint64_t>, Tensor> drawn;
    auto [it, fresh] = drawn.try_emplace({n, seed});
    if (fresh) {
        it->second = Tensor::randn(DType::f32, Shape{n}, seed);
        float* p = it->second.data<float>();
        for (std::int64_t i = 0; i < n; ++i) p[i] *= 3.0f;
    }
    return it->second;
}

Buffers make_buffers(const Workload& w, std::int64_t n) {
    Buffers b{n, bench_input(n, 1), {}, Tensor::zeros(DType::f32, Shape{n}), {}};
    if (w.backward) {
        b.gy = bench_input(n, 2);
        b.gx = Tensor::zeros(DType::f32, Shape{n});
    }
    return b;
}

// A program refers to its graph's nodes: the two live together.
struct Compiled {
    std::shared_ptr<Graph> graph;
    std::shared_ptr<Program> program;
};

Compiled compile_workload(const Workload& w, std::int64_t n, Backend backend) {
    auto graph = std::make_shared<Graph>();
    Value x = graph->input("x", DType::f32, Shape{n});
    Value y = w.forward(x);
    std::vector<Value> outputs{y};
    if (w.backward) outputs.push_back(grad(y, x, graph->input("gy", DType::f32, Shape{n})));
    return {graph, compile(outputs, backend)};
}

// Every engine writes into preallocated outputs (run_into), as a compiled plan is used in a
// loop; the interpreter still materialises each intermediate, from its buffer pool.
void register_engine(const Workload& w, std::int64_t n, Backend backend) {
    Compiled compiled;
    try {
        compiled = compile_workload(w, n, backend);
    } catch (const UserError& e) {
        fmt::print(stderr, "skipping {}/{}: {}\n", w.name, backend_name(backend), e.what());
        return;
    }
    const std::string name = fmt::format("{}/{}/{}", w.name, backend_name(backend), n);
    benchmark::RegisterBenchmark(name.c_str(), [compiled, &w, n](benchmark::State& state) {
        Program& program = *compiled.program;
        Bindings bindings{{"x", bench_input(n, 1)}};
        if (w.backward) bindings.emplace("gy", bench_input(n, 2));
        std::vector<Tensor> results{Tensor::zeros(DType::f32, Shape{n})};
        if (w.backward) results.push_back(Tensor::zeros(DType::f32, Shape{n}));
        program.run_into(bindings, results);  // warm-up, untimed: first-touch page faults, buffer pools
        for (auto _ : state) {
            program.run_into(bindings, results);
            benchmark::ClobberMemory();
        }
        set_counters(state, n, w.bytes_per_element());
    });
}

// Why `engine` does not compute workload `w` as the interpreter does, or nothing. The peers
// use their own exp/tanh approximations, hence a tolerance rather than bitwise equality.
std::optional<std::string> differs_from_interp(const Workload& w, const Prepare& prepare) {
    constexpr std::int64_t n = 4096;
    Buffers b = make_buffers(w, n);
    prepare(b)();
    Bindings bindings{{"x", b.x}};
    if (w.backward) bindings.emplace("gy", b.gy);
    const std::vector<Tensor> want = compile_workload(w, n, Backend::interp).program->run(bindings);
    const Tensor* got[] = {&b.y, &b.gx};
    for (std::size_t k = 0; k < want.size(); ++k) {
        const float* g = got[k]->data<float>();
        const float* r = want[k].data<float>();
        for (std::int64_t i = 0; i < n; ++i) {
            if (!(std::fabs(g[i] - r[i]) <= 1e-5f + 1e-4f * std::fabs(r[i])))
                return fmt::format("{}[{}] = {} where the interpreter gives {} (x = {})", k == 0 ? "y" : "gx", i, g[i],
                                   r[i], b.x.data<float>()[i]);
        }
    }
    return std::nullopt;
}

void register_native(const NativeEngine& engine, const Workload& w, const Prepare& prepare, std::int64_t n) {
    const std::string name = fmt::format("{}/{}/{}", w.name, engine.name, n);
    benchmark::RegisterBenchmark(name.c_str(), [prepare, &w, n](benchmark::State& state) {
        Buffers b = make_buffers(w, n);
        const Run run = prepare(b);
        run();  // warm-up, untimed, as for every engine
        for (auto _ : state) {
            run();
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

using CheckedEngines =
    std::vector<std::pair<const NativeEngine*, std::vector<std::pair<const Workload*, Prepare>>>>;

// The native engines' workloads that compute what the interpreter computes; the others are
// reported on stderr and counted in `mismatches`.
CheckedEngines checked_native(const std::vector<NativeEngine>& engines, int& mismatches) {
    CheckedEngines checked;
    for (const NativeEngine& engine : engines) {
        auto& entry = checked.emplace_back(&engine, std::vector<std::pair<const Workload*, Prepare>>{});
        for (const Workload& w : elementwise_workloads()) {
            const auto it = engine.workloads.find(w.name);
            if (it == engine.workloads.end()) continue;
            if (const auto why = differs_from_interp(w, it->second)) {
                fmt::print(stderr, "skipping {}/{}: {}\n", w.name, engine.name, *why);
                ++mismatches;
                continue;
            }
            entry.second.emplace_back(&w, it->second);
        }
    }
    return checked;
}

}  // namespace
}  // namespace nnjit::bench

// --check_engines: only compare every native engine with the interpreter (a ctest); exits 1
// when one differs.
int main(int argc, char** argv) {
    using namespace nnjit::bench;
    benchmark::AddCustomContext("jit_target_cpu", nnjit::jit_target_cpu());  // bench/report prints it
    benchmark::Initialize(&argc, argv);
    const bool check_only = argc == 2 && std::string_view(argv[1]) == "--check_engines";
    if (!check_only && benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;

    std::vector<NativeEngine> engines{hand_engine(), et_engine()};
    for (NativeEngine& peer : peer_engines()) engines.push_back(std::move(peer));
    int mismatches = 0;
    const auto native = checked_native(engines, mismatches);
    if (check_only) {
        std::size_t checked = 0;
        for (const auto& entry : native) checked += entry.second.size();
        fmt::print("{} engine/workload pairs agree with the interpreter, {} differ\n", checked, mismatches);
        return mismatches == 0 ? 0 : 1;
    }

    for (std::int64_t n : kSizes) {
        register_stream(n);
        for (const auto& w : elementwise_workloads()) {
            register_engine(w, n, nnjit::Backend::interp);
            register_engine(w, n, nnjit::Backend::jit);
        }
        for (const auto& [engine, workloads] : native)
            for (const auto& [w, prepare] : workloads) register_native(*engine, *w, prepare, n);
    }
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
}
