// Cost: forward and backward of an activation over n elements (y = act(x) and dL/dx from
// dL/dy), per element, on the interpreter and on the JIT, each the median of repeated runs
// into preallocated outputs. Two sizes: one whose arrays stay in cache, where the arithmetic
// shows, and one that streams from memory, where the traffic does. A rough view from an
// example: bench/ holds the measurements.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <functional>

#include "nnjit/autodiff.hpp"
#include "nnjit/graph_ops.hpp"
#include "story.hpp"

namespace relu_story {

using namespace nnjit;

namespace {

double median_ns_per_element(const Program& program, const Bindings& bindings, std::vector<Tensor>& out, int reps,
                             std::int64_t n) {
    program.run_into(bindings, out);  // warm-up
    std::vector<double> times;
    for (int k = 0; k < reps; ++k) {
        const auto t0 = std::chrono::steady_clock::now();
        program.run_into(bindings, out);
        times.push_back(std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count());
    }
    std::nth_element(times.begin(), times.begin() + reps / 2, times.end());
    return times[static_cast<std::size_t>(reps / 2)] / static_cast<double>(n);
}

}  // namespace

CostResult cost(const Settings& settings) {
    CostResult r;
    const int reps = settings.fast ? 5 : 30;
    const std::pair<const char*, std::function<Value(Value)>> activations[] = {
        {"relu", [](Value x) { return relu(x); }},
        {"leaky_relu", [](Value x) { return leaky_relu(x); }},
        {"sigmoid", [](Value x) { return sigmoid(x); }},
        {"tanh", [](Value x) { return tanh(x); }},
    };
    for (std::int64_t n : settings.fast ? std::vector<std::int64_t>{1 << 12, 1 << 16}
                                        : std::vector<std::int64_t>{1 << 16, 1 << 22}) {
    const Shape shape{n};
    Tensor x = Tensor::randn(DType::f32, shape, settings.seed);
    for (std::int64_t i = 0; i < n; ++i) x.data<float>()[i] *= 3;  // both signs, saturated tails
    const Bindings bindings{{"x", x}, {"gy", Tensor::randn(DType::f32, shape, settings.seed + 1)}};
    for (const auto& [name, act] : activations) {
        Graph g;
        const Value xv = g.input("x", DType::f32, shape);
        const Value y = act(xv);
        const std::vector<Value> outputs{y, grad(y, xv, g.input("gy", DType::f32, shape))};
        CostRow row{name, n};
        std::vector<Tensor> by_interp{Tensor::empty(DType::f32, shape), Tensor::empty(DType::f32, shape)};
        std::vector<Tensor> by_jit{Tensor::empty(DType::f32, shape), Tensor::empty(DType::f32, shape)};
        row.interp_ns = median_ns_per_element(*compile(outputs, Backend::interp), bindings, by_interp, reps, n);
        row.jit_ns = median_ns_per_element(*compile(outputs, Backend::jit), bindings, by_jit, reps, n);
        row.engines_agree = bitwise_equal(by_interp[0], by_jit[0]) && bitwise_equal(by_interp[1], by_jit[1]);
        r.rows.push_back(std::move(row));
    }
    }
    return r;
}

void report(const CostResult& r, const Output& output) {
    fmt::print("\nCost: forward + backward of float32 elements, ns per element (median)\n\n");
    Table t;
    t.header = {"activation", "elements", "interp ns", "jit ns", "interp / relu", "jit / relu", "engines agree"};
    for (const auto& row : r.rows) {
        const CostRow* relu = &row;  // the ReLU row of the same size
        for (const auto& other : r.rows)
            if (other.elements == row.elements && other.activation == "relu") relu = &other;
        t.rows.push_back({row.activation, fmt::format("{}", row.elements), fmt::format("{:.3f}", row.interp_ns),
                          fmt::format("{:.3f}", row.jit_ns),
                          fmt::format("{:.2f}", row.interp_ns / relu->interp_ns),
                          fmt::format("{:.2f}", row.jit_ns / relu->jit_ns), row.engines_agree ? "bitwise" : "NO"});
    }
    fmt::print("{}", t.markdown());
    write_and_plot(output, "cost", t);
}

}  // namespace relu_story
