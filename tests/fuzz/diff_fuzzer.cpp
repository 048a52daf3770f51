// libFuzzer target: differential testing of the engines on random graphs. The input bytes
// become a small graph with its gradient (graph_from_bytes.hpp), built once in float32 and once
// in float64 from the same float32-representable values. The interpreter and the JIT run it in
// both dtypes, and every element of every output must lie in the interval the oracle derives
// from the documented error bound of each primitive (interval_oracle.hpp states the bounds and
// the analysis); the interpreter in float64 is the reference the messages compare against.
// Elementwise-only graphs must also agree bit for bit between the engines (DESIGN.md, principle
// 2; NaNs only need to be NaN on both sides). A crash, an exception other than a clean
// rejection, or a disagreement is a finding: it prints the graph and aborts.
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <span>

#include <fmt/format.h>

#include "graph_from_bytes.hpp"
#include "interval_oracle.hpp"
#include "nnjit/engine.hpp"
#include "nnjit/error.hpp"

using namespace nnjit;

namespace {

[[noreturn]] void finding(const std::string& what, const std::vector<Value>& outputs) {
    fmt::print(stderr, "diff fuzzer finding: {}\ngraph:\n{}\n", what, format_graph(outputs));
    std::abort();
}

struct Runs {
    std::vector<Tensor> interp, jit;
};

Runs run_both(const fuzz::FuzzGraph& fg) {
    Runs r;
    try {
        r.interp = compile(fg.outputs, Backend::interp)->run(fg.bindings);
        r.jit = compile(fg.outputs, Backend::jit)->run(fg.bindings);
    } catch (const std::exception& e) {
        finding(fmt::format("a valid graph was rejected: {}", e.what()), fg.outputs);
    }
    return r;
}

bool same_bits(double a, double b) {
    if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
    return std::memcmp(&a, &b, sizeof a) == 0;
}

void check(const fuzz::FuzzGraph& fg, const Runs& runs, const Runs& ref64, DType dtype) {
    const auto bounds = fuzz::interval_bounds(fg.outputs, fg.bindings);
    for (std::size_t k = 0; k < fg.outputs.size(); ++k) {
        const auto interp = runs.interp[k].to_doubles(), jit = runs.jit[k].to_doubles();
        const auto reference = ref64.interp[k].to_doubles();
        for (std::size_t i = 0; i < interp.size(); ++i) {
            const auto& bound = bounds[k][i];
            auto report = [&](std::string_view problem) {
                finding(fmt::format("{} {}, output {} element {}: interp {:.17g}, jit {:.17g}, interp float64 {:.17g}, "
                                    "documented bound {}",
                                    dtype, problem, k, i, interp[i], jit[i], reference[i], fuzz::describe(bound)),
                        fg.outputs);
            };
            if (!bound.contains(interp[i])) report("interpreter outside the documented bound");
            if (!bound.contains(jit[i])) report("JIT outside the documented bound");
            if (fg.elementwise_only && !same_bits(interp[i], jit[i])) report("engines differ on an elementwise graph");
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    // Thousands of distinct kernels: keep them out of the user's on-disk cache.
    static const bool no_disk_cache = setenv("NNJIT_CACHE_DIR", "off", 1) == 0;
    (void)no_disk_cache;
    const std::span<const std::uint8_t> bytes(data, size);
    Graph g64, g32;
    fuzz::FuzzGraph f64, f32;
    try {
        f64 = fuzz::graph_from_bytes(bytes, g64, DType::f64);
        f32 = fuzz::graph_from_bytes(bytes, g32, DType::f32);
    } catch (const std::exception& e) {
        // The generator only asks for valid graphs: a rejection is a bug on one side or the other.
        fmt::print(stderr, "diff fuzzer finding: building the graph failed: {}\n", e.what());
        std::abort();
    }
    const Runs runs64 = run_both(f64);
    const Runs runs32 = run_both(f32);
    check(f64, runs64, runs64, DType::f64);
    check(f32, runs32, runs64, DType::f32);
    return 0;
}
