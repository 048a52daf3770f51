// How many cores the other processes on the machine keep busy, measured over the last fraction
// of a second: the machine's busy time (/proc/stat) less this process's own CPU time
// (getrusage), so that nnjit's own workers never count as someone else's load. The thread
// policy (nnjit/thread_policy.hpp) uses the cores left.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>
#include <vector>

namespace nnjit {

// One reading of the machine's and this process's CPU time.
struct CpuReading {
    std::chrono::steady_clock::time_point at;
    double machine_busy_s = 0;  // the processors it may run on: user, nice, system, irq, softirq, steal
    double own_s = 0;           // this process, all its threads: user + system
};

// The busy seconds of the processors `cpus` in /proc/stat's text, summed over their lines
// "cpuN user nice system idle iowait irq softirq steal ..." in ticks of 1/ticks_per_second s
// (sysconf's _SC_CLK_TCK); nullopt when one of them has no such line. Only the processors
// this process may run on count: in a container pinned to 2 cores of a busy 64-core host, the
// host's other 62 are not its load.
std::optional<double> machine_busy_seconds(std::string_view proc_stat, const std::vector<int>& cpus,
                                           long ticks_per_second);

// Cores kept busy by other processes between two readings (at least 0); nullopt when the
// readings are too close together to tell.
std::optional<double> others_busy_cores(const CpuReading& before, const CpuReading& after);

// Threads worth using with `cores` processors of which `others_busy` are taken: the idle
// ones rounded, at least 1 and at most `limit`.
int threads_for(int cores, double others_busy, int limit);

// The machine now; nullopt where /proc/stat or the affinity mask cannot be read.
std::optional<CpuReading> read_cpu();

}  // namespace nnjit
