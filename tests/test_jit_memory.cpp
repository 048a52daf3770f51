// Resources: a process that JIT-compiles thousands of distinct graphs keeps its memory
// bounded, because the code of a kernel no plan uses is unloaded once the in-memory cache
// lets it go. Prints the resident memory (VmRSS) before and after.
#include <catch2/catch.hpp>

#include <fstream>
#include <string>

#include <fmt/format.h>

#include "../jit/engine.hpp"
#include "nnjit/engine.hpp"
#include "nnjit/graph_ops.hpp"

using namespace nnjit;

namespace {

// Resident memory of this process in KiB, from /proc/self/status.
long rss_kib() {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line))
        if (line.starts_with("VmRSS:")) return std::stol(line.substr(6));
    FAIL("no VmRSS in /proc/self/status");
    return 0;
}

// Graph `i` is relu(x * c_i) + c_i with a constant of its own, so each is a kernel LLVM has
// to build; with x all ones it gives exactly 2 c_i.
std::unique_ptr<Program> compile_distinct(int i, bool check) {
    const double c = 1.0 + i / 1024.0;
    Graph g;
    Value x = g.input("x", DType::f32, Shape{4, 8});
    auto program = compile({relu(x * c) + c}, Backend::jit);
    if (check) {
        const Tensor y = program->run({{"x", Tensor::full(DType::f32, Shape{4, 8}, 1.0)}})[0];
        CHECK(y.flat(31) == static_cast<float>(2 * c));
    }
    return program;
}

struct DiskCacheOff {
    jit::Engine& engine = jit::Engine::instance();
    std::string saved = engine.cache_dir();
    DiskCacheOff() { engine.set_cache_dir(""); }  // every kernel below goes through LLVM
    ~DiskCacheOff() { engine.set_cache_dir(saved); }
};

void check_bounded(int graphs, int kept_graphs) {
    const DiskCacheOff no_disk;
    jit::Engine& engine = jit::Engine::instance();
    // Warm up first: LLVM's one-time set-up and a full in-memory cache are part of the baseline.
    int next = 0;
    for (; next < static_cast<int>(jit::Engine::kCachedKernels) + 100; ++next) compile_distinct(next, false);
    const long before = rss_kib();
    const auto stats_before = engine.stats();

    // Plans that are dropped: memory stays where it was, however many graphs there are.
    long halfway = 0;
    for (int i = 0; i < graphs; ++i) {
        compile_distinct(next++, i % 97 == 0);
        if (i == graphs / 2) halfway = rss_kib();
    }
    const long after = rss_kib();
    const auto stats_after = engine.stats();
    CHECK(stats_after.compiled - stats_before.compiled == static_cast<std::uint64_t>(graphs));
    CHECK(stats_after.loaded <= jit::Engine::kCachedKernels);

    // The measurement is sensitive: plans that are kept keep their code, and memory grows.
    std::vector<std::unique_ptr<Program>> kept;
    for (int i = 0; i < kept_graphs; ++i) kept.push_back(compile_distinct(next++, false));
    const long with_kept = rss_kib();
    CHECK(engine.stats().loaded >= kept.size());
    kept.clear();
    engine.clear_memory_cache();
    CHECK(engine.stats().loaded == 0);

    fmt::print("JIT memory: VmRSS {} KiB before, {} KiB after {} distinct graphs compiled and dropped, {} KiB after {}; "
               "{} KiB with {} more plans kept ({} kernels unloaded)\n",
               before, halfway, graphs / 2 + 1, after, graphs, with_kept, kept_graphs,
               stats_after.unloaded - stats_before.unloaded);
    // Any number of dropped plans costs at most the cache's kernels and allocator slack ...
    CHECK(after - before < 8 * 1024);
    CHECK(after - halfway < 4 * 1024);
    // ... while each kept plan holds at least its code page (4 KiB; measured 9 to 34 KiB with
    // its JITDylib and symbol tables, less where the allocator reuses what dropped ones freed).
    CHECK(with_kept - after > kept_graphs * 4);
}

}  // namespace

TEST_CASE("jit memory: 1,000 distinct graphs compiled and dropped keep memory bounded", "[jit][memory]") {
    check_bounded(1000, 300);
}

// The full-size run of issue 9 (about a minute): ctest -L long runs it.
TEST_CASE("jit memory: 10,000 distinct graphs compiled and dropped keep memory bounded", "[.long][jit][memory]") {
    check_bounded(10000, 1000);
}
