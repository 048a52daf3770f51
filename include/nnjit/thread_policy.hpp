// When nnjit's own parallel work (the JIT's kernels, oneDNN's matrix products; both run on
// OpenMP) uses more than the calling thread, and how it gives the threads back.
#pragma once

namespace nnjit {

// Threads worth using for one parallel region now: OpenMP's limit, capped by the cores the
// other processes left idle over the last ~0.1 s or more (the machine's busy time less this
// process's own; before there are two readings, the 1-minute load average). On a machine with
// no idle core a fork/join costs scheduler time slices, not microseconds: measured on a 2-core
// machine at load 10, a 2M-element kernel took 20 ms on two threads and 1 ms on one. The load
// average alone lags: a minute after other work ended (or after nnjit's own two threads) it
// still showed a core taken, and training ran on one thread on an idle machine.
int useful_threads();

// After a parallel region libgomp's workers busy-wait for the next one (~300k iterations by
// default; OMP_WAIT_POLICY=passive stops that, but only when set before the process starts),
// burning a core that OpenBLAS or the caller's next step needs. Releasing them
// (omp_pause_resource_all) after every region is no better: the next region creates its
// threads again, which measured ~0.25 ms per region, and 5 ms with OpenBLAS's workers
// yield-spinning on the other core (a Fashion-MNIST epoch took 12.5 s instead of 0.8 s).
// So one call into nnjit that may run several regions (a program's run) holds a
// ParallelCall: its regions keep the workers between them, and they are released once, when
// the outermost ParallelCall of the thread ends. A region outside any ParallelCall releases
// them itself. OpenMP's thread pools belong to the thread that forks, hence per thread.
class ParallelCall {
public:
    ParallelCall();
    ~ParallelCall();
    ParallelCall(const ParallelCall&) = delete;
    ParallelCall& operator=(const ParallelCall&) = delete;
};

// Called after each parallel region of nnjit's: releases the workers now, or at the end of
// the enclosing ParallelCall.
void parallel_region_done();

}  // namespace nnjit
