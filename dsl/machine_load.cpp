#include "machine_load.hpp"

#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

namespace nnjit {

std::optional<double> machine_busy_seconds(std::string_view proc_stat, const std::vector<int>& cpus,
                                           long ticks_per_second) {
    if (ticks_per_second <= 0 || cpus.empty()) return std::nullopt;
    std::map<int, double> busy_ticks;  // of every "cpuN" line
    std::istringstream lines{std::string(proc_stat)};
    // The processors' lines come first: the rest (the long "intr" line among them) is not read.
    for (std::string line; std::getline(lines, line) && line.starts_with("cpu");) {
        std::istringstream fields(line);
        std::string name;
        fields >> name;
        const char* end = name.data() + name.size();
        int cpu = -1;
        if (name.size() == 3 || std::from_chars(name.data() + 3, end, cpu).ptr != end) continue;  // "cpu": the sum
        double ticks[8] = {};  // user nice system idle iowait irq softirq steal
        bool complete = true;
        for (double& t : ticks) complete = complete && static_cast<bool>(fields >> t);
        if (complete) busy_ticks[cpu] = ticks[0] + ticks[1] + ticks[2] + ticks[5] + ticks[6] + ticks[7];
    }
    double busy = 0;
    for (int cpu : cpus) {
        const auto it = busy_ticks.find(cpu);
        if (it == busy_ticks.end()) return std::nullopt;
        busy += it->second;
    }
    return busy / static_cast<double>(ticks_per_second);
}

std::optional<double> others_busy_cores(const CpuReading& before, const CpuReading& after) {
    const double wall = std::chrono::duration<double>(after.at - before.at).count();
    // /proc/stat counts in ticks (10 ms): over less than ~50 ms one tick is a fifth of a core.
    if (wall < 0.05) return std::nullopt;
    const double others = (after.machine_busy_s - before.machine_busy_s) - (after.own_s - before.own_s);
    return std::max(0.0, others / wall);
}

int threads_for(int cores, double others_busy, int limit) {
    const double idle = static_cast<double>(cores) - others_busy;
    return static_cast<int>(std::clamp(std::lround(idle), 1L, static_cast<long>(std::max(limit, 1))));
}

std::optional<CpuReading> read_cpu() {
    cpu_set_t allowed;
    if (::sched_getaffinity(0, sizeof allowed, &allowed) != 0) return std::nullopt;
    std::vector<int> cpus;
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu)
        if (CPU_ISSET(cpu, &allowed)) cpus.push_back(cpu);
    // Only the processors' lines, which come first: not the long "intr" line after them.
    std::ifstream file("/proc/stat");
    std::string text;
    for (std::string line; std::getline(file, line) && line.starts_with("cpu");) text += line + '\n';
    const auto busy = machine_busy_seconds(text, cpus, ::sysconf(_SC_CLK_TCK));
    if (!busy) return std::nullopt;
    rusage usage{};
    if (::getrusage(RUSAGE_SELF, &usage) != 0) return std::nullopt;
    const auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + 1e-6 * static_cast<double>(t.tv_usec); };
    return CpuReading{std::chrono::steady_clock::now(), *busy, seconds(usage.ru_utime) + seconds(usage.ru_stime)};
}

}  // namespace nnjit
