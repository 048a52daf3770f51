#include "nnjit/thread_policy.hpp"

#include <omp.h>
#include <stdlib.h>

#include <chrono>
#include <mutex>
#include <optional>

#include "machine_load.hpp"

namespace nnjit {

namespace {

thread_local int open_calls = 0;            // ParallelCalls alive on this thread
thread_local bool workers_waiting = false;  // a region ran since the workers were last released

void release_workers() {
    omp_pause_resource_all(omp_pause_soft);
    workers_waiting = false;
}

// Cores the other processes kept busy between the last two readings of the machine, taken
// when a thread count is asked for, at least kReadingInterval apart; nullopt until there are two.
std::optional<double> recent_others_busy() {
    constexpr auto kReadingInterval = std::chrono::milliseconds(100);
    static std::mutex mutex;
    static std::optional<CpuReading> last;
    static std::optional<double> others;
    const std::lock_guard lock(mutex);
    if (last && std::chrono::steady_clock::now() - last->at < kReadingInterval) return others;
    const std::optional<CpuReading> now = read_cpu();
    if (!now) return std::nullopt;
    if (last)
        if (const auto busy = others_busy_cores(*last, *now)) others = busy;
    last = now;
    return others;
}

}  // namespace

int useful_threads() {
    const int limit = omp_get_max_threads();
    if (limit < 2) return 1;
    const int cores = omp_get_num_procs();
    if (const auto others = recent_others_busy()) return threads_for(cores, *others, limit);
    // No measurement yet: the 1-minute load average, of which our own running thread is a part.
    double load[1];
    if (::getloadavg(load, 1) != 1) return limit;
    return threads_for(cores, load[0] - 1.0, limit);
}

ParallelCall::ParallelCall() { ++open_calls; }

ParallelCall::~ParallelCall() {
    if (--open_calls == 0 && workers_waiting) release_workers();
}

void parallel_region_done() {
    workers_waiting = true;
    if (open_calls == 0) release_workers();
}

}  // namespace nnjit
