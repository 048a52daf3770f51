// What the activation diagnostics cost (nn/diagnostics.hpp), on the JIT engine, named
// WORKLOAD/ENGINE/SIZE:
//   <act>_kernel/jit/BxU       a = act(z + b): the fused activation kernel of a dense layer,
//                              called directly (one call over all rows, as on one thread)
//   <act>_kernel_diag/jit/BxU  the same kernel, also counting per unit the rows with z + b > 0
//                              and all the a == 0 (the probes, as reductions in its epilogue);
//                              counter extra_pct: the time it takes over the kernel without the
//                              probes, both timed in alternation in the same loop (blocks of
//                              ~20 us), on the same arrays: a drifting machine cannot bias it
//                              (its time is the probed kernel's per call; its CPU column counts
//                              both kernels' blocks)
//                              (NNJIT_BENCH_PROBES=active or zeros: only that probe)
//   <act>_layer[_diag]/jit/BxU the same as a compiled program: the kernel plus what the
//                              executor does around it (bindings, the probes' partial sums)
//   mlp_step/jit/B             a whole training step of a 784-256-256-10 ReLU MLP (SGD)
//   mlp_step_diag/jit/B        the same with TrainerOptions::diagnostics (adds |dW|^2 too)
// Compare a workload with its _diag twin from one run (the ratio of the medians; for the
// kernels, extra_pct measures the same more robustly).
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string_view>

#include "engine.hpp"
#include "fusion.hpp"
#include "nnjit/engine.hpp"
#include "nnjit/error.hpp"
#include "nnjit/graph_ops.hpp"
#include "nnjit/nn.hpp"

namespace nnjit::bench {
namespace {

struct LayerSize {
    std::int64_t batch, units;
};
constexpr LayerSize kLayerSizes[] = {{128, 256}, {128, 1024}, {1024, 1024}};

Bindings layer_bindings(LayerSize size) {
    return {{"z", Tensor::randn(DType::f32, Shape{size.batch, size.units}, 1)},
            {"b", Tensor::randn(DType::f32, Shape{size.units}, 2)}};
}

// The probes the _diag kernels add: both, or only one of them with NNJIT_BENCH_PROBES=active
// or zeros (to see what each costs).
std::string_view probes_measured() {
    const char* env = std::getenv("NNJIT_BENCH_PROBES");
    const std::string_view probes = env ? env : "both";
    if (probes != "both" && probes != "active" && probes != "zeros")
        throw UserError(fmt::format("NNJIT_BENCH_PROBES is '{}': it must be active, zeros or both", probes));
    return probes;
}

// a = act(z + b), and with `probes` the diagnostics' counts of it.
std::vector<Value> layer_outputs(Graph& graph, const std::function<Value(Value)>& act, LayerSize size, bool probes) {
    const Value z = graph.input("z", DType::f32, Shape{size.batch, size.units});
    const Value b = graph.input("b", DType::f32, Shape{size.units});
    const Value pre = z + b;
    const Value a = act(pre);
    std::vector<Value> outputs{a};
    if (probes) {
        const nn::LayerProbes p = nn::activation_probes(pre, a);
        const std::string_view probes = probes_measured();
        if (probes != "zeros") outputs.push_back(p.active);
        if (probes != "active") outputs.push_back(p.zeros);
    }
    return outputs;
}

// The arrays of a layer's kernel: its inputs z and b, its output a.
struct LayerArrays {
    Bindings inputs;
    Tensor activation;
    explicit LayerArrays(LayerSize size)
        : inputs(layer_bindings(size)), activation(Tensor::zeros(DType::f32, Shape{size.batch, size.units})) {}
};

// A layer's one fused kernel on `arrays`, called as the executor calls it, without the
// executor (one call over all rows, as on one thread).
class LayerKernel {
public:
    LayerKernel(std::string_view act_name, const std::function<Value(Value)>& act, LayerSize size, bool probes,
                std::shared_ptr<LayerArrays> arrays)
        : arrays_(std::move(arrays)) {
        Graph graph;  // only until the kernel is compiled
        const jit::Plan plan = jit::fuse(layer_outputs(graph, act, size, probes));
        if (plan.kernels.size() != 1)
            throw InternalError(fmt::format("diagnostics bench: the {} layer fused into {} kernels, not 1", act_name,
                                            plan.kernels.size()));
        const jit::FusedKernel& fk = plan.kernels.front();
        if (fk.stored.size() != 1)
            throw InternalError(fmt::format("diagnostics bench: the {} layer's kernel stores {} arrays, not 1", act_name,
                                            fk.stored.size()));
        kernel_ = jit::Engine::instance().compile(fk.spec);
        for (const Node* n : fk.operand_sources) args_.push_back(arrays_->inputs.at(n->attrs().name).raw_data());
        args_.push_back(arrays_->activation.raw_data());
        // The buffers the kernel adds into, from 0: the zero count's float64, the active units'
        // bytes (KernelSpec::is_any) at the start of theirs.
        for (const Node* n : fk.reduced) sums_.emplace_back(static_cast<std::size_t>(n->shape().numel()), 0.0);
        for (auto& sum : sums_) args_.push_back(sum.data());
        rows_ = fk.spec.rows();
        row_length_ = fk.spec.row_length();
        call();  // warm-up
    }

    void call() { kernel_.fn(args_.data(), 0, rows_, 0, row_length_); }

private:
    std::shared_ptr<LayerArrays> arrays_;
    jit::CompiledKernel kernel_;
    std::vector<std::vector<double>> sums_;
    std::vector<void*> args_;
    std::int64_t rows_ = 0, row_length_ = 0;
};

void register_kernel(std::string_view act_name, const std::function<Value(Value)>& act, LayerSize size) {
    // The same arrays for both: the comparison is of the code alone.
    auto arrays = std::make_shared<LayerArrays>(size);
    auto plain = std::make_shared<LayerKernel>(act_name, act, size, false, arrays);
    auto probed = std::make_shared<LayerKernel>(act_name, act, size, true, arrays);
    const std::int64_t elements = size.batch * size.units;
    const std::string name = fmt::format("{}_kernel/jit/{}x{}", act_name, size.batch, size.units);
    benchmark::RegisterBenchmark(name.c_str(), [plain, elements](benchmark::State& state) {
        for (auto _ : state) {
            plain->call();
            benchmark::ClobberMemory();
        }
        state.SetItemsProcessed(state.iterations() * elements);
    });
    // Blocks of calls of ~20 us or more, so that reading the clock costs nothing that counts.
    const int calls = static_cast<int>(std::max<std::int64_t>(1, (std::int64_t{1} << 18) / elements));
    const std::string diag_name = fmt::format("{}_kernel_diag/jit/{}x{}", act_name, size.batch, size.units);
    benchmark::RegisterBenchmark(diag_name.c_str(), [plain, probed, elements, calls](benchmark::State& state) {
        using clock = std::chrono::steady_clock;
        auto timed = [&](LayerKernel& k) {
            const auto start = clock::now();
            for (int i = 0; i < calls; ++i) k.call();
            benchmark::ClobberMemory();
            return std::chrono::duration<double>(clock::now() - start).count();
        };
        double plain_s = 0, probed_s = 0;
        bool probed_first = false;
        for (auto _ : state) {
            // In turn first and second: neither always runs on the caches the other left.
            double plain_block = 0, probed_block = 0;
            if (probed_first) {
                probed_block = timed(*probed);
                plain_block = timed(*plain);
            } else {
                plain_block = timed(*plain);
                probed_block = timed(*probed);
            }
            plain_s += plain_block;
            probed_s += probed_block;
            probed_first = !probed_first;
            state.SetIterationTime(probed_block / calls);
        }
        state.SetItemsProcessed(state.iterations() * elements);
        state.counters["extra_pct"] = 100 * (probed_s / plain_s - 1);
    })->UseManualTime();
}

void register_layer(std::string_view act_name, const std::function<Value(Value)>& act, LayerSize size, bool probes) {
    auto graph = std::make_shared<Graph>();
    const std::vector<Value> outputs = layer_outputs(*graph, act, size, probes);
    std::shared_ptr<Program> program = compile(outputs, Backend::jit);
    const std::string name = fmt::format("{}_layer{}/jit/{}x{}", act_name, probes ? "_diag" : "", size.batch, size.units);
    benchmark::RegisterBenchmark(name.c_str(), [graph, program, outputs, size](benchmark::State& state) {
        const Bindings bindings = layer_bindings(size);
        std::vector<Tensor> results;
        for (const Value& v : outputs) results.push_back(Tensor::zeros(v.dtype(), v.shape()));
        program->run_into(bindings, results);  // warm-up, untimed
        for (auto _ : state) {
            program->run_into(bindings, results);
            benchmark::ClobberMemory();
        }
        state.SetItemsProcessed(state.iterations() * size.batch * size.units);
    });
}

void register_step(std::int64_t batch, bool diagnostics) {
    auto trainer = std::make_shared<nn::Trainer>(
        nn::mlp({784, 256, 256, 10}, nn::Activation::relu()), nn::Loss::softmax_cross_entropy, nn::Sgd(0.01),
        nn::TrainerOptions{.backend = Backend::jit, .batch_size = batch, .seed = 1, .diagnostics = diagnostics});
    const std::string name = fmt::format("mlp_step{}/jit/{}", diagnostics ? "_diag" : "", batch);
    benchmark::RegisterBenchmark(name.c_str(), [trainer, batch](benchmark::State& state) {
        const Tensor x = Tensor::randn(DType::f32, Shape{batch, 784}, 3);
        Tensor target = Tensor::zeros(DType::f32, Shape{batch, 10});
        for (std::int64_t r = 0; r < batch; ++r) target.data<float>()[r * 10 + r % 10] = 1;
        trainer->step(x, target);  // warm-up, untimed
        for (auto _ : state) benchmark::DoNotOptimize(trainer->step(x, target));
        state.SetItemsProcessed(state.iterations() * batch);
    });
}

}  // namespace
}  // namespace nnjit::bench

int main(int argc, char** argv) {
    using namespace nnjit;
    try {
        bench::probes_measured();
    } catch (const UserError& e) {
        fmt::print(stderr, "nnjit-bench-diagnostics: {}\n", e.what());
        return 2;
    }
    const std::pair<std::string_view, std::function<Value(Value)>> activations[] = {
        {"relu", [](Value x) { return relu(x); }},
        {"sigmoid", [](Value x) { return sigmoid(x); }},
    };
    for (const auto& size : bench::kLayerSizes)
        for (const auto& [name, act] : activations)
            bench::register_kernel(name, act, size);
    for (const auto& size : bench::kLayerSizes)
        for (const auto& [name, act] : activations)
            for (bool probes : {false, true}) bench::register_layer(name, act, size, probes);
    for (bool diagnostics : {false, true}) bench::register_step(128, diagnostics);
    benchmark::AddCustomContext("jit_target_cpu", nnjit::jit_target_cpu());  // bench/report prints it
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
}
