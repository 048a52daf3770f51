#include "nnjit/thread_policy.hpp"

#include <algorithm>
#include <cmath>
#include <stdlib.h>

#include <omp.h>

namespace nnjit {

int useful_threads() {
    const int limit = omp_get_max_threads();
    if (limit < 2) return 1;
    double load[1];
    if (::getloadavg(load, 1) != 1) return limit;
    // Our own running thread is part of that load, hence the + 1.
    const double idle = static_cast<double>(omp_get_num_procs()) + 1.0 - load[0];
    return static_cast<int>(std::clamp(std::lround(idle), 1L, static_cast<long>(limit)));
}

void release_threads() { omp_pause_resource_all(omp_pause_soft); }

}  // namespace nnjit
