// How many cores the other processes on the machine keep busy, measured over the last fraction
// of a second: the machine's busy time (/proc/stat) less this process's own CPU time
// (getrusage), so that nnjit's own workers never count as someone else's load. The thread
// policy (nnjit/thread_policy.hpp) uses the cores left.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace nnjit {

// One reading of the machine's and this process's CPU time.
struct CpuReading {
    std::chrono::steady_clock::time_point at;
    double machine_busy_s = 0;  // all processors: user, nice, system, irq, softirq, steal
    double own_s = 0;           // this process, all its threads: user + system
};

// The busy seconds in /proc/stat's first line, "cpu  user nice system idle iowait irq softirq
// steal ..." in ticks of 1/ticks_per_second s (sysconf's _SC_CLK_TCK); nullopt when the line is
// not one.
std::optional<double> machine_busy_seconds(std::string_view cpu_line, long ticks_per_second);

// Cores kept busy by other processes between two readings (at least 0); nullopt when the
// readings are too close together to tell.
std::optional<double> others_busy_cores(const CpuReading& before, const CpuReading& after);

// Threads worth using with `cores` processors of which `others_busy` are taken: the idle
// ones rounded, at least 1 and at most `limit`.
int threads_for(int cores, double others_busy, int limit);

// The machine now; nullopt where /proc/stat cannot be read.
std::optional<CpuReading> read_cpu();

}  // namespace nnjit
