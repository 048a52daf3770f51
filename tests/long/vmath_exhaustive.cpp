// The exhaustive sweep of vmath: every finite float32 input (all 2^32 bit patterns) of each
// function of tests/vmath_sweep.hpp, against its float64 reference. Prints the measured maximum
// error per function (the numbers quoted in include/nnjit/vmath.hpp) and fails if one exceeds
// its documented bound. Runs on all hardware threads; minutes. Registered in ctest with the
// label `long` (ctest -L long); `vmath_exhaustive STRIDE [NAME]` sweeps every STRIDE-th
// pattern only, of one function only.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#include "vmath_sweep.hpp"

using namespace nnjit::vmath_test;

int main(int argc, char** argv) {
    const std::uint64_t stride = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1;
    const char* only = argc > 2 ? argv[2] : nullptr;
    const unsigned threads = std::max(1u, std::thread::hardware_concurrency());
    constexpr std::uint64_t kChunk = std::uint64_t{1} << 20;  // bit patterns per work item
    constexpr std::uint64_t kEnd = std::uint64_t{1} << 32;
    bool ok = true;
    std::printf("%-9s %12s %16s %14s %16s %12s\n", "function", "max ulp", "at x", "max abs err", "(x < ulp_from)",
                "inputs");
    for (const auto& fn : kFunctions) {
        if (only && std::strcmp(only, fn.name) != 0) continue;
        std::vector<SweepResult> parts(threads);
        std::vector<std::thread> pool;
        for (unsigned t = 0; t < threads; ++t) {
            pool.emplace_back([&, t] {
                // Chunks interleaved across threads: every thread gets cheap and expensive ranges.
                for (std::uint64_t begin = t * kChunk; begin < kEnd; begin += threads * kChunk) {
                    const std::uint64_t first = (begin + stride - 1) / stride * stride;
                    parts[t].merge(sweep(fn, first, std::min(begin + kChunk, kEnd), stride));
                }
            });
        }
        for (auto& th : pool) th.join();
        SweepResult r;
        for (const auto& p : parts) r.merge(p);
        const bool pass = r.max_ulp <= fn.bound && r.max_abs <= fn.abs_bound;
        ok = ok && pass;
        std::printf("%-9s %12.4f %16.9g %14.4g %16.9g %12llu%s\n", fn.name, r.max_ulp, r.worst_x, r.max_abs,
                    r.worst_abs_x, static_cast<unsigned long long>(r.count), pass ? "" : "  FAILED");
        std::fflush(stdout);
    }
    return ok ? 0 : 1;
}
