#include "machine_load.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <string>

namespace nnjit {

std::optional<double> machine_busy_seconds(std::string_view cpu_line, long ticks_per_second) {
    if (!cpu_line.starts_with("cpu ") || ticks_per_second <= 0) return std::nullopt;
    std::istringstream fields{std::string(cpu_line.substr(4))};
    double ticks[8] = {};  // user nice system idle iowait irq softirq steal
    for (double& t : ticks)
        if (!(fields >> t)) return std::nullopt;
    const double busy = ticks[0] + ticks[1] + ticks[2] + ticks[5] + ticks[6] + ticks[7];
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
    std::ifstream file("/proc/stat");
    std::string first_line;
    if (!std::getline(file, first_line)) return std::nullopt;
    const auto busy = machine_busy_seconds(first_line, ::sysconf(_SC_CLK_TCK));
    if (!busy) return std::nullopt;
    rusage usage{};
    if (::getrusage(RUSAGE_SELF, &usage) != 0) return std::nullopt;
    const auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + 1e-6 * static_cast<double>(t.tv_usec); };
    return CpuReading{std::chrono::steady_clock::now(), *busy, seconds(usage.ru_utime) + seconds(usage.ru_stime)};
}

}  // namespace nnjit
