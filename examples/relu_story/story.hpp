// The ReLU story: experiments that let the claims made about ReLU be seen happening -
// vanishing gradients, convergence, sparsity, dying units, cost - each run by a sub-command of
// nnjit-relu-story, printing a table and writing a CSV and a PNG plot. Every experiment has a
// fast mode (a generated data set, small networks, seconds) that tests/test_relu_story.cpp runs
// to check the direction of each effect.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "nnjit/engine.hpp"
#include "nnjit/nn.hpp"

namespace relu_story {

using nnjit::Tensor;

struct Settings {
    bool fast = false;  // a generated set and small networks: seconds
    nnjit::Backend backend = nnjit::Backend::interp;
    std::string data_dir = "/usr/share/datasets/fashion-mnist";
    std::int64_t samples = 60000;  // Fashion-MNIST training images used (at most 60000)
    int epochs = 0;                // 0: each experiment's own default
    std::uint64_t seed = 1;
};

// Rows of standardised features and one-hot targets.
struct Dataset {
    Tensor x, y;
    std::string name;
    std::int64_t features() const { return x.shape()[1]; }
    std::int64_t classes() const { return y.shape()[1]; }
};
// Fast: 2048 samples of 32 Gaussian features, 4 classes given by a random linear teacher.
// Otherwise: the first settings.samples Fashion-MNIST training images.
Dataset load_dataset(const Settings& settings);

// Where results go: <dir>/<experiment>.csv and .png (the plot only when `plot`).
struct Output {
    std::filesystem::path dir = "relu_story_out";
    bool plot = true;
    std::string python = "python3";
};

// A table printed as Markdown (so that it can be pasted into the docs as it is).
struct Table {
    std::vector<std::string> header;
    std::vector<std::vector<std::string>> rows;
    std::string markdown() const;
};
// Writes `table` as CSV to <dir>/<name>.csv; with output.plot, runs plot.py to draw
// <dir>/<name>.png from it (a missing python or matplotlib is reported, not fatal).
void write_and_plot(const Output& output, const std::string& name, const Table& table);
std::string sci(double v);  // 3 significant digits, exponent when far from 1

// A trainer for `net` on `data` with plain SGD and the diagnostics on.
nnjit::nn::Trainer sgd_trainer(const nnjit::nn::Sequential& net, const nnjit::nn::Parameters& initial,
                               const Settings& settings, double learning_rate, std::int64_t batch);
// Each layer's diagnostics over `steps` batches of `data` taken with a learning rate of 0, so
// that the weights stay as they are; then the learning rate is set to `learning_rate_after`.
std::vector<nnjit::nn::LayerDiagnostics> diagnostics_at_rest(nnjit::nn::Trainer& trainer, const Dataset& data,
                                                             int steps, double learning_rate_after);

// --- vanishing gradients: a deep MLP, weight-gradient norm per layer --------------------------
struct VanishingResult {
    std::vector<std::string> activations;
    std::vector<std::vector<double>> at_init, trained;  // [activation][layer]
    int depth = 0, steps_trained = 0;
};
VanishingResult vanishing(const Settings& settings);
void report(const VanishingResult& r, const Output& output);

// --- convergence: loss against SGD steps, the same network and data -------------------------
struct ConvergenceRun {
    std::string activation;
    int depth = 0;
    std::vector<double> loss;        // per step
    std::int64_t steps_to_target = -1;  // first step whose trailing mean loss <= target; -1: never
    double final_loss = 0;           // trailing mean at the end
};
struct ConvergenceResult {
    std::vector<ConvergenceRun> runs;
    double target = 0;
    int window = 0;
};
ConvergenceResult convergence(const Settings& settings);
void report(const ConvergenceResult& r, const Output& output);

// --- sparsity: fraction of exactly-zero activations per hidden layer -------------------------
struct SparsityResult {
    std::vector<std::string> activations;
    std::vector<std::vector<double>> at_init, trained;  // [activation][hidden layer]
    int epochs = 0;
};
SparsityResult sparsity(const Settings& settings);
void report(const SparsityResult& r, const Output& output);

// --- dying ReLU: units never active over an epoch, under a large learning rate or a negative
// bias initialisation -------------------------------------------------------------------------
struct DyingRun {
    std::string condition, activation;
    std::vector<std::int64_t> dead;  // per epoch, all hidden layers together
    std::vector<double> train_accuracy;  // per epoch, of the batches as they were seen
    std::vector<double> loss;            // per epoch, mean over its steps (NaN: diverged)
};
struct DyingResult {
    std::vector<DyingRun> runs;
    std::int64_t hidden_units = 0;
};
DyingResult dying(const Settings& settings);
void report(const DyingResult& r, const Output& output);

// --- cost: forward + backward of an activation, per element, both engines --------------------
struct CostRow {
    std::string activation;
    std::int64_t elements = 0;
    double interp_ns = 0, jit_ns = 0;  // per element, median of the repetitions
    bool engines_agree = false;        // JIT and interpreter results equal bit for bit
};
struct CostResult {
    std::vector<CostRow> rows;  // per size, per activation
};
CostResult cost(const Settings& settings);
void report(const CostResult& r, const Output& output);

}  // namespace relu_story
