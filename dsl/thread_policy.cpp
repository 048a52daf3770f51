#include "nnjit/thread_policy.hpp"

#include <algorithm>
#include <cmath>
#include <stdlib.h>

#include <omp.h>

namespace nnjit {

namespace {

thread_local int open_calls = 0;            // ParallelCalls alive on this thread
thread_local bool workers_waiting = false;  // a region ran since the workers were last released

void release_workers() {
    omp_pause_resource_all(omp_pause_soft);
    workers_waiting = false;
}

}  // namespace

int useful_threads() {
    const int limit = omp_get_max_threads();
    if (limit < 2) return 1;
    double load[1];
    if (::getloadavg(load, 1) != 1) return limit;
    // Our own running thread is part of that load, hence the + 1.
    const double idle = static_cast<double>(omp_get_num_procs()) + 1.0 - load[0];
    return static_cast<int>(std::clamp(std::lround(idle), 1L, static_cast<long>(limit)));
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
