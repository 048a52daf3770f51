// When nnjit's own parallel work (the JIT's kernels, oneDNN's matrix products; both run on
// OpenMP) uses more than the calling thread, and how it gives the threads back.
#pragma once

namespace nnjit {

// Threads worth using for one parallel region now: OpenMP's limit, capped by the cores that
// are idle by the 1-minute load average. On a machine with no idle core a fork/join costs
// scheduler time slices, not microseconds: measured on a 2-core machine at load 10, a
// 2M-element kernel took 20 ms on two threads and 1 ms on one.
int useful_threads();

// Releases OpenMP's worker threads after a parallel region rather than leaving them spinning:
// libgomp busy-waits ~300k iterations for the next region by default (milliseconds of a core
// that OpenBLAS or the caller's next step needs), and its wait policy can only be set by the
// environment (OMP_WAIT_POLICY) before the process starts.
void release_threads();

}  // namespace nnjit
