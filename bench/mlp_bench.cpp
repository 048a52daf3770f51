// MLP training steps and inference on every engine, named WORKLOAD/ENGINE/SIZE:
//   mlp_train_step/{jit,interp,libtorch}/784-512-512-10x256   forward, loss, backward, Adam
//   mlp_train_step/{jit,interp,libtorch}/32-64-64-1x32
//   mlp_train_step_sgd/{jit,interp,libtorch}/784-512-512-10x256  the same with plain SGD
//   mlp_infer/{jit,interp,libtorch}/32-64-64-1x1             one sample
//   mlp_infer/{jit,interp,libtorch}/784-512-512-10x256         Predictor::predict (a new result)
//   mlp_infer_into/{jit,interp}/32-64-64-1x1                   Predictor::predict_into (a reused one)
// ReLU between layers; softmax cross-entropy for 10 outputs, binary cross-entropy from logits
// for one. The nnjit steps report the time split: `gemm_ms` is the same sequence of matrix
// products (the step's shapes and transposes) called directly on BLAS, timed between the
// steps, and `outside_pct` the share of the step that is not those products. Every time is
// the calling thread's CPU time (one thread does all the work): on a loaded machine, wall time
// also counts the turns of other processes. Inference reads that clock once per
// kCallsPerClockRead calls (time_calls says why).
// Run with OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 (one thread is what the goals measure).
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <time.h>

#include <memory>
#include <string>
#include <vector>

#include "kernels.hpp"  // dsl/: the interpreter's matmul kernel
#include "nnjit/engine.hpp"
#include "nnjit/nn.hpp"
#ifdef NNJIT_HAVE_LIBTORCH
#include "torch_peer.hpp"
#endif

namespace nnjit::bench {
namespace {

struct MlpCase {
    std::vector<std::int64_t> sizes;
    std::int64_t batch;
    bool adam = true;  // else plain SGD: the update that moves the fewest bytes
};

std::string size_name(const MlpCase& c) { return fmt::format("{}x{}", fmt::join(c.sizes, "-"), c.batch); }
std::string workload(const MlpCase& c) { return c.adam ? "mlp_train_step" : "mlp_train_step_sgd"; }

std::unique_ptr<nn::Optimizer> optimizer_of(const MlpCase& c) {
    if (c.adam) return std::make_unique<nn::Adam>(1e-3);
    return std::make_unique<nn::Sgd>(1e-2);
}

nn::Loss loss_of(const MlpCase& c) {
    return c.sizes.back() == 1 ? nn::Loss::binary_cross_entropy : nn::Loss::softmax_cross_entropy;
}

// A batch with targets of the loss's kind: one-hot rows, or 0/1 labels.
void make_batch(const MlpCase& c, std::int64_t rows, Tensor& x, Tensor& target) {
    x = Tensor::randn(DType::f32, Shape{rows, c.sizes.front()}, 11);
    const Tensor u = Tensor::rand(DType::f32, Shape{rows}, 12);
    Tensor labels = Tensor::empty(DType::f32, Shape{rows});
    const std::int64_t classes = std::max<std::int64_t>(c.sizes.back(), 2);
    for (std::int64_t i = 0; i < rows; ++i)
        labels.data<float>()[i] = static_cast<float>(static_cast<std::int64_t>(u.flat(i) * static_cast<double>(classes)));
    if (c.sizes.back() == 1) target = labels.reshape(Shape{rows, 1}).contiguous();
    else target = nn::one_hot(labels, c.sizes.back());
}

// The matrix products of one training step, through the kernel both engines call (so through
// the same library, oneDNN or OpenBLAS): forward X @ W per layer; backward dW = X^T @ dZ per
// layer and dX = dZ @ W^T for all but the first layer, transposes as views.
class GemmSequence {
public:
    explicit GemmSequence(const MlpCase& c) {
        const std::size_t layers = c.sizes.size() - 1;
        for (std::size_t l = 0; l <= layers; ++l) {
            acts_.push_back(Tensor::full(DType::f32, Shape{c.batch, c.sizes[l]}, 0.5));
            grads_.push_back(Tensor::full(DType::f32, Shape{c.batch, c.sizes[l]}, 0.25));
        }
        for (std::size_t l = 0; l < layers; ++l) {
            weights_.push_back(Tensor::full(DType::f32, Shape{c.sizes[l], c.sizes[l + 1]}, 0.01));
            weight_grads_.push_back(Tensor::zeros(DType::f32, Shape{c.sizes[l], c.sizes[l + 1]}));
        }
    }

    void run() {
        const std::size_t layers = weights_.size();
        for (std::size_t l = 0; l < layers; ++l) detail::matmul_kernel(acts_[l], weights_[l], acts_[l + 1]);
        for (std::size_t l = layers; l-- > 0;) {
            detail::matmul_kernel(acts_[l].transpose(), grads_[l + 1], weight_grads_[l]);
            if (l > 0) detail::matmul_kernel(grads_[l + 1], weights_[l].transpose(), grads_[l]);
        }
    }

private:
    std::vector<Tensor> acts_, grads_, weights_, weight_grads_;
};

// This thread's CPU time: on a loaded machine wall time counts other processes' turns too.
double thread_seconds() {
    timespec t{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

// Reading this thread's CPU clock is a system call, and part of it falls inside the interval
// it measures: two reads in a row differ by ~0.55 us on the project's VM, as much as a whole
// single-sample inference. So inference reads the clock once per this many calls (one call
// per benchmark iteration still) and adds the time of those calls together.
constexpr int kCallsPerClockRead = 64;

// Runs `call` once per benchmark iteration and records the iterations' thread CPU time.
template <class Call> void time_calls(benchmark::State& state, const Call& call) {
    int pending = 0;
    double t0 = thread_seconds();
    for (auto _ : state) {
        call();
        if (++pending == kCallsPerClockRead) {
            const double t = thread_seconds();
            state.SetIterationTime(t - t0);  // adds: the calls' total, whatever iteration it comes in
            t0 = t;
            pending = 0;
        }
    }
    if (pending > 0) state.SetIterationTime(thread_seconds() - t0);
}

void register_train_step(const MlpCase& c, Backend backend) {
    const std::string name = fmt::format("{}/{}/{}", workload(c), backend_name(backend), size_name(c));
    benchmark::RegisterBenchmark(name.c_str(), [c, backend](benchmark::State& state) {
        nn::Trainer trainer(nn::mlp(c.sizes, nn::Activation::relu()), loss_of(c), *optimizer_of(c),
                            {.backend = backend, .batch_size = c.batch, .seed = 1});
        Tensor x, target;
        make_batch(c, c.batch, x, target);
        GemmSequence gemms(c);
        trainer.step(x, target);  // warm-up, untimed, as for every engine
        gemms.run();
        double step_s = 0, gemm_s = 0;
        for (auto _ : state) {
            const double t0 = thread_seconds();
            benchmark::DoNotOptimize(trainer.step(x, target));
            const double s = thread_seconds() - t0;
            step_s += s;
            state.SetIterationTime(s);
            // The products alone, between steps: the same load on the machine for both.
            const double t1 = thread_seconds();
            gemms.run();
            gemm_s += thread_seconds() - t1;
        }
        const auto n = static_cast<double>(state.iterations());
        state.counters["gemm_ms"] = 1e3 * gemm_s / n;
        state.counters["outside_ms"] = 1e3 * (step_s - gemm_s) / n;
        state.counters["outside_pct"] = 100 * (step_s - gemm_s) / step_s;
    })->UseManualTime()->Unit(benchmark::kMicrosecond);
}

// into: predict_into a result tensor made once, else predict (which makes one per call).
void register_infer(const MlpCase& c, Backend backend, bool into) {
    const std::string name = fmt::format("{}/{}/{}", into ? "mlp_infer_into" : "mlp_infer", backend_name(backend), size_name(c));
    benchmark::RegisterBenchmark(name.c_str(), [c, backend, into](benchmark::State& state) {
        const auto net = nn::mlp(c.sizes, nn::Activation::relu());
        const nn::Parameters params = net.init(DType::f32, 1);
        const nn::Predictor predictor(net, backend, DType::f32, c.batch);
        Tensor x, target;
        make_batch(c, c.batch, x, target);
        Tensor out = predictor.predict(x, params);  // compiles the plan
        if (into) time_calls(state, [&] { predictor.predict_into(x, params, out); benchmark::ClobberMemory(); });
        else time_calls(state, [&] { benchmark::DoNotOptimize(predictor.predict(x, params)); });
    })->UseManualTime()->Unit(benchmark::kMicrosecond);
}

#ifdef NNJIT_HAVE_LIBTORCH
void register_torch(const MlpCase& c) {
    benchmark::RegisterBenchmark(fmt::format("{}/libtorch/{}", workload(c), size_name(c)).c_str(),
                                 [c](benchmark::State& state) {
                                     TorchMlp net(c.sizes, c.batch, 1, c.adam);
                                     net.train_step();
                                     for (auto _ : state) {
                                         const double t0 = thread_seconds();
                                         benchmark::DoNotOptimize(net.train_step());
                                         state.SetIterationTime(thread_seconds() - t0);
                                     }
                                 })
        ->UseManualTime()
        ->Unit(benchmark::kMicrosecond);
}

void register_torch_infer(const MlpCase& c) {
    benchmark::RegisterBenchmark(fmt::format("mlp_infer/libtorch/{}", size_name(c)).c_str(),
                                 [c](benchmark::State& state) {
                                     TorchMlp net(c.sizes, c.batch, 1, true);
                                     net.infer(c.batch);
                                     time_calls(state, [&] { net.infer(c.batch); });
                                 })
        ->UseManualTime()
        ->Unit(benchmark::kMicrosecond);
}
#endif

void register_all() {
    const MlpCase big{{784, 512, 512, 10}, 256}, small{{32, 64, 64, 1}, 32};
    const MlpCase big_sgd{{784, 512, 512, 10}, 256, false}, one{{32, 64, 64, 1}, 1};
    for (const MlpCase& c : {big, big_sgd, small}) {
        for (Backend b : {Backend::jit, Backend::interp}) register_train_step(c, b);
#ifdef NNJIT_HAVE_LIBTORCH
        register_torch(c);
#endif
    }
    for (Backend b : {Backend::jit, Backend::interp}) register_infer(one, b, true);
    for (const MlpCase& c : {one, big}) {
        for (Backend b : {Backend::jit, Backend::interp}) register_infer(c, b, false);
#ifdef NNJIT_HAVE_LIBTORCH
        register_torch_infer(c);
#endif
    }
}

}  // namespace
}  // namespace nnjit::bench

int main(int argc, char** argv) {
    nnjit::bench::register_all();
    benchmark::AddCustomContext("jit_target_cpu", nnjit::jit_target_cpu());  // bench/report prints it
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
