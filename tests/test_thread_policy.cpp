// The thread policy (include/nnjit/thread_policy.hpp): OpenMP's workers stay between the
// parallel regions of one call into nnjit and are gone when the call returns, so nothing of
// nnjit's spins after it returns and a call's regions do not create their threads anew each;
// OpenBLAS does small products on the calling thread.
#include <catch2/catch.hpp>

#include <cblas.h>
#include <dirent.h>
#include <omp.h>

#include <chrono>
#include <thread>

#include "nnjit/engine.hpp"
#include "nnjit/graph_ops.hpp"
#include "nnjit/thread_policy.hpp"

using namespace nnjit;

namespace {

// Threads of this process now (Linux: one entry per thread in /proc/self/task).
int process_threads() {
    int n = 0;
    DIR* dir = opendir("/proc/self/task");
    REQUIRE(dir != nullptr);
    while (const dirent* e = readdir(dir))
        if (e->d_name[0] != '.') ++n;
    closedir(dir);
    return n;
}

// Whether the thread count comes down to `want` within 5 s: libgomp's release returns once
// its workers have left their last barrier, a moment before they have exited.
bool threads_settle_at(int want) {
    for (int i = 0; i < 5000 && process_threads() != want; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return process_threads() == want;
}

// The thread count after 50 ms, time enough for a released worker to have exited.
int threads_a_moment_later() {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    return process_threads();
}

// One region on two threads whatever the machine's load, as nnjit's are, then the policy.
int two_thread_region() {
    int team = 0;
#pragma omp parallel num_threads(2)
    if (omp_get_thread_num() == 0) team = omp_get_num_threads();
    parallel_region_done();
    return team;
}

}  // namespace

TEST_CASE("thread policy: workers wait between the regions of a call and go when it ends", "[threads]") {
    const int base = process_threads();
    {
        const ParallelCall call;
        REQUIRE(two_thread_region() == 2);
        CHECK(threads_a_moment_later() == base + 1);  // the worker waits for the next region
        REQUIRE(two_thread_region() == 2);
        {
            const ParallelCall nested;  // a program run inside another call: the outer one releases
            REQUIRE(two_thread_region() == 2);
        }
        CHECK(threads_a_moment_later() == base + 1);
    }
    CHECK(threads_settle_at(base));
    // Outside any call a region releases its workers at once.
    REQUIRE(two_thread_region() == 2);
    CHECK(threads_settle_at(base));
    // A call without a region releases nothing, and leaves the next region's release alone.
    { const ParallelCall idle; }
    REQUIRE(two_thread_region() == 2);
    CHECK(threads_settle_at(base));
}

TEST_CASE("thread policy: no worker of a program's run is left after it returns", "[threads][jit]") {
    // 2^21 elements: the JIT cuts the kernel into chunks that OpenMP threads share when a core
    // is idle (on a busy machine it runs on the calling thread, and the check holds trivially).
    const int base = process_threads();
    Graph g;
    const Value x = g.input("x", DType::f32, Shape{1 << 21});
    const Value y = sigmoid(x * 2.0) * relu(x);
    for (const Backend backend : {Backend::jit, Backend::interp}) {
        const auto out = compile({y}, backend)->run({{"x", Tensor::randn(DType::f32, Shape{1 << 21}, 7)}});
        CHECK(out[0].shape() == Shape{1 << 21});
        CHECK(threads_settle_at(base));
    }
}

TEST_CASE("thread policy: OpenBLAS does small products on the calling thread", "[threads]") {
    // Its own workers would yield-spin on the core nnjit's next region wants (thread_policy.hpp).
    Graph g;
    const Value a = g.input("a", DType::f64, Shape{128, 128});
    const Tensor data = Tensor::randn(DType::f64, Shape{128, 128}, 3);
    const auto out = compile({matmul(a, a)}, Backend::interp)->run({{"a", data}});
    CHECK(out[0].shape() == Shape{128, 128});
    CHECK(openblas_get_num_threads() == 1);
}
