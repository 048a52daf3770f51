// The machine-load measurement behind the thread policy (dsl/machine_load.hpp): /proc/stat's
// busy time read right, this process's own CPU time taken out of it, and the threads left.
#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <string>
#include <thread>

#include "machine_load.hpp"

using namespace nnjit;
using namespace std::chrono_literals;

namespace {

CpuReading reading(double at_s, double machine_busy_s, double own_s) {
    const auto at = std::chrono::steady_clock::time_point{} + std::chrono::duration_cast<std::chrono::nanoseconds>(
                                                                  std::chrono::duration<double>(at_s));
    return CpuReading{at, machine_busy_s, own_s};
}

// Spins the calling thread until it has run for `d` -- not until `d` has passed: on a loaded
// machine a spin gets only part of a core (ctest -j2 beside a build read 0.15 s in 0.3 s) --
// or for 20 d, whichever comes first.
void spin_for(std::chrono::milliseconds d) {
    const auto thread_cpu = [] {
        timespec t{};
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
        return std::chrono::seconds(t.tv_sec) + std::chrono::nanoseconds(t.tv_nsec);
    };
    const auto cpu_end = thread_cpu() + d;
    const auto wall_end = std::chrono::steady_clock::now() + 20 * d;
    volatile unsigned sink = 0;
    while (thread_cpu() < cpu_end && std::chrono::steady_clock::now() < wall_end) sink = sink + 1;
}

}  // namespace

TEST_CASE("machine load: /proc/stat gives the busy seconds of the processors this process may use", "[threads]") {
    // Fields: user nice system idle iowait irq softirq steal guest guest_nice; idle and iowait
    // are not busy. The first line sums every processor.
    const std::string stat = "cpu  1000 200 300 4000 500 60 70 80 0 0\n"
                             "cpu0 100 20 30 400 50 6 7 8 0 0\n"
                             "cpu1 10 0 0 40 0 0 0 0 0 0\n"
                             "cpu12 300 0 0 0 0 0 0 0 0 0\n"
                             "cpu3 1 2\n"  // cut short
                             "intr 12345 0 0\n"
                             "cpu4 1 0 0 0 0 0 0 0 0 0\n";  // not a processor's line: they come first
    CHECK(*machine_busy_seconds(stat, {0}, 100) == Approx(1.71));
    CHECK(*machine_busy_seconds(stat, {0, 1}, 100) == Approx(1.81));
    CHECK(*machine_busy_seconds(stat, {1, 12}, 1000) == Approx(0.31));
    CHECK_FALSE(machine_busy_seconds(stat, {2}, 100));  // no line
    CHECK_FALSE(machine_busy_seconds(stat, {0, 3}, 100));
    CHECK_FALSE(machine_busy_seconds(stat, {4}, 100));
    CHECK_FALSE(machine_busy_seconds(stat, {}, 100));
    CHECK_FALSE(machine_busy_seconds(stat, {0}, 0));
}

TEST_CASE("machine load: the others' cores are the machine's busy time less this process's", "[threads]") {
    // Over one second the machine was busy 1.5 s, 1 s of it this process's: half a core is others'.
    CHECK(*others_busy_cores(reading(10, 100, 20), reading(11, 101.5, 21)) == Approx(0.5));
    CHECK(*others_busy_cores(reading(10, 100, 20), reading(10.5, 100.5, 20)) == Approx(1.0));
    // /proc/stat counts whole ticks, so this process can seem to have used more than the machine.
    CHECK(*others_busy_cores(reading(10, 100, 20), reading(11, 100.99, 21)) == 0.0);
    // Too close together to tell a tick from a core.
    CHECK_FALSE(others_busy_cores(reading(10, 100, 20), reading(10.01, 100.02, 20.01)));
}

TEST_CASE("machine load: the threads worth using are the idle cores, at least one, at most the limit", "[threads]") {
    CHECK(threads_for(2, 0.03, 2) == 2);
    CHECK(threads_for(2, 0.4, 2) == 2);  // 1.6 idle
    CHECK(threads_for(2, 0.6, 2) == 1);  // 1.4 idle
    CHECK(threads_for(2, 1.0, 2) == 1);
    CHECK(threads_for(2, 7.5, 2) == 1);  // an overloaded machine still has the calling thread
    CHECK(threads_for(16, 0.0, 4) == 4);
    CHECK(threads_for(16, 3.2, 64) == 13);
    CHECK(threads_for(4, 0.0, 0) == 1);
}

TEST_CASE("machine load: readings of this machine see this process's work and another's", "[threads]") {
    const auto before = read_cpu();
    REQUIRE(before.has_value());
    spin_for(300ms);
    const auto after_own = read_cpu();
    REQUIRE(after_own.has_value());
    CHECK(after_own->own_s - before->own_s >= 0.2);
    CHECK(after_own->machine_busy_s - before->machine_busy_s >= 0.2);
    REQUIRE(others_busy_cores(*before, *after_own).has_value());

    // A child process spinning while this one sleeps is another's load: most of a core
    // (other processes, such as tests run alongside, can only add to it).
    const pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        spin_for(600ms);
        _exit(0);
    }
    std::this_thread::sleep_for(100ms);
    const auto start = read_cpu();
    std::this_thread::sleep_for(400ms);
    const auto end = read_cpu();
    int status = 0;
    waitpid(child, &status, 0);
    REQUIRE(start.has_value());
    REQUIRE(end.has_value());
    const auto others = others_busy_cores(*start, *end);
    REQUIRE(others.has_value());
    CHECK(*others >= 0.5);
}
