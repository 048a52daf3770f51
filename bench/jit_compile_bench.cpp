// JIT latency for the chain workload (y = sigmoid(a*x+b) * relu(x) and its gradient), named
// jit_compile/ENGINE/SIZE like every benchmark, where ENGINE says which cache answers:
//   cold    nothing cached: fusion, LLVM (IR, passes, object code) and linking, every time
//           (the engine itself already exists: that is once per process, see `disk`);
//   cached  the kernel is in this process's cache: fusion and a lookup;
//   disk    a NEW PROCESS whose kernel is in the on-disk cache: the time from the start of
//           main() until the program is ready, which includes creating the engine (LLJIT,
//           target machine) and loading the object. The process is this binary started
//           again with --child-disk-hit=DIR; it prints its own measurement, which the
//           benchmark reports as manual time (process start-up and libLLVM's relocation are
//           not counted: they are paid by any program linked with LLVM, JIT or not).
// Counters give where the cold time goes (EngineStats' phases, wall time per compile), and for
// `disk` the child's engine creation (engine_us, wall) and its CPU time (cpu_us: the child's
// main thread, from main() on; on a loaded machine the wall time also counts the time the child
// waited for a core). For `cold` and `cached` the CPU column is the benchmark thread's CPU time.
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <ctime>
#include <unistd.h>

#include "../jit/engine.hpp"
#include "hand_kernels.hpp"
#include "nnjit/autodiff.hpp"
#include "nnjit/engine.hpp"
#include "nnjit/graph_ops.hpp"

namespace nnjit::bench {
namespace {

using Clock = std::chrono::steady_clock;

double thread_cpu_us() {
    timespec t{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) * 1e6 + static_cast<double>(t.tv_nsec) * 1e-3;
}

struct ChainGraph {
    std::shared_ptr<Graph> graph = std::make_shared<Graph>();
    std::vector<Value> outputs;
    explicit ChainGraph(std::int64_t n) {
        Value x = graph->input("x", DType::f32, Shape{n});
        Value y = sigmoid(kChainA * x + kChainB) * relu(x);
        outputs = {y, grad(y, x, graph->input("gy", DType::f32, Shape{n}))};
    }
};

constexpr std::int64_t kSize = 65536;

void cold(benchmark::State& state) {
    jit::Engine& engine = jit::Engine::instance();
    const std::string saved = engine.cache_dir();
    engine.set_cache_dir("");
    ChainGraph g(kSize);
    const jit::EngineStats before = engine.stats();
    for (auto _ : state) {
        engine.clear_memory_cache();
        benchmark::DoNotOptimize(compile(g.outputs, Backend::jit));
    }
    const jit::EngineStats after = engine.stats();
    const double n = static_cast<double>(after.compiled - before.compiled);
    if (n > 0) {
        state.counters["codegen_us"] = (after.codegen_us - before.codegen_us) / n;
        state.counters["optimise_us"] = (after.optimise_us - before.optimise_us) / n;
        state.counters["emit_us"] = (after.emit_us - before.emit_us) / n;
        state.counters["load_us"] = (after.load_us - before.load_us) / n;
    }
    engine.set_cache_dir(saved);
}

void cached(benchmark::State& state) {
    ChainGraph g(kSize);
    compile(g.outputs, Backend::jit);  // fills the cache
    for (auto _ : state) benchmark::DoNotOptimize(compile(g.outputs, Backend::jit));
}

// The child's side of `disk`: wall time from main() to a ready program, the engine's share of
// it and the CPU time, printed in microseconds.
int child_disk_hit(const std::string& dir, Clock::time_point start, double start_cpu_us) {
    jit::Engine& engine = jit::Engine::instance();
    const double engine_us = std::chrono::duration<double, std::micro>(Clock::now() - start).count();
    engine.set_cache_dir(dir);
    ChainGraph g(kSize);
    auto program = compile(g.outputs, Backend::jit);
    const double total_us = std::chrono::duration<double, std::micro>(Clock::now() - start).count();
    if (engine.stats().disk_hits != 1) {
        fmt::print(stderr, "jit_compile/disk: the child did not hit the disk cache\n");
        return 1;
    }
    fmt::print("{} {} {}\n", total_us, engine_us, thread_cpu_us() - start_cpu_us);
    return 0;
}

void disk(benchmark::State& state, std::string self) {
    const auto dir = std::filesystem::temp_directory_path() / fmt::format("nnjit-bench-cache-{}", ::getpid());
    std::filesystem::remove_all(dir);
    {
        jit::Engine& engine = jit::Engine::instance();
        const std::string saved = engine.cache_dir();
        engine.set_cache_dir(dir.string());
        engine.clear_memory_cache();
        ChainGraph g(kSize);
        compile(g.outputs, Backend::jit);  // writes the entry (a memory hit would write nothing)
        engine.set_cache_dir(saved);
    }
    double engine_total = 0, cpu_total = 0;
    for (auto _ : state) {
        const std::string cmd = fmt::format("'{}' --child-disk-hit='{}'", self, dir.string());
        FILE* child = ::popen(cmd.c_str(), "r");
        double total_us = -1, engine_us = 0, cpu_us = 0;
        if (!child || std::fscanf(child, "%lf %lf %lf", &total_us, &engine_us, &cpu_us) != 3 || ::pclose(child) != 0 || total_us < 0) {
            state.SkipWithError("the child process failed");
            break;
        }
        state.SetIterationTime(total_us * 1e-6);
        engine_total += engine_us;
        cpu_total += cpu_us;
    }
    if (state.iterations() > 0) {
        state.counters["engine_us"] = engine_total / static_cast<double>(state.iterations());
        state.counters["cpu_us"] = cpu_total / static_cast<double>(state.iterations());
    }
    std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace nnjit::bench

int main(int argc, char** argv) {
    const auto start = nnjit::bench::Clock::now();
    const double start_cpu_us = nnjit::bench::thread_cpu_us();
    using namespace nnjit::bench;
    constexpr std::string_view child_flag = "--child-disk-hit=";
    if (argc == 2 && std::string_view(argv[1]).starts_with(child_flag))
        return child_disk_hit(std::string(argv[1] + child_flag.size()), start, start_cpu_us);
    const std::string size = std::to_string(kSize);
    benchmark::RegisterBenchmark(("jit_compile/cold/" + size).c_str(), cold)->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark(("jit_compile/cached/" + size).c_str(), cached)->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark(("jit_compile/disk/" + size).c_str(), disk, std::string(argv[0]))
        ->UseManualTime()
        ->Iterations(20)
        ->Unit(benchmark::kMicrosecond);
    benchmark::AddCustomContext("jit_target_cpu", nnjit::jit_target_cpu());  // bench/report prints it
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
}
