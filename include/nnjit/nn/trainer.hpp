// The trainer: one training step - forward, loss, backward, optimizer update - is ONE graph,
// compiled once for the chosen engine and run per batch. Parameters and optimizer state are
// inputs of that graph; their updated values are outputs written over them (run_into with
// InPlace): a step keeps one buffer per parameter and slot, copies none and allocates nothing
// for them.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "nnjit/engine.hpp"
#include "nnjit/nn/diagnostics.hpp"
#include "nnjit/nn/loss.hpp"
#include "nnjit/nn/optimizer.hpp"
#include "nnjit/nn/parameters.hpp"
#include "nnjit/nn/predictor.hpp"
#include "nnjit/nn/sequential.hpp"

namespace nnjit::nn {

struct TrainerOptions {
    Backend backend = Backend::interp;
    DType dtype = DType::f32;
    std::int64_t batch_size = 64;
    std::uint64_t seed = 0;  // parameter initialisation and the shuffle of each epoch
    // Per-layer activation diagnostics (see diagnostics.hpp), computed inside the step.
    bool diagnostics = false;
};

struct EpochStats {
    double loss = 0;      // mean of the steps' losses
    double accuracy = 0;  // of the training batches as they were seen (classification losses)
    std::int64_t samples = 0;
    double seconds = 0;
};

class Trainer {
public:
    // Parameters are initialised from options.seed.
    Trainer(Sequential model, Loss loss, const Optimizer& optimizer, TrainerOptions options = {});
    // Starts from the given parameters (e.g. loaded weights); names and shapes must match.
    Trainer(Sequential model, const Parameters& initial, Loss loss, const Optimizer& optimizer,
            TrainerOptions options = {});
    ~Trainer();
    Trainer(const Trainer&) = delete;
    Trainer& operator=(const Trainer&) = delete;

    // One step on a batch of exactly batch_size rows; returns the loss before the update.
    double step(const Tensor& x, const Tensor& target);
    // One pass over (x, target) in an order shuffled by the seed and the epoch number; the
    // last batch_size - 1 samples at most (the remainder) are left out of this epoch.
    EpochStats train_epoch(const Tensor& x, const Tensor& target);

    // Inference with the current parameters (any number of rows).
    Tensor predict(const Tensor& x) const;
    // Fraction of rows classified right (see count_correct).
    double accuracy(const Tensor& x, const Tensor& target) const;

    // A copy of the current parameters / the optimizer state (`<slot>/<parameter>`).
    Parameters parameters() const;
    Parameters optimizer_state() const;
    void set_learning_rate(double lr) { optimizer_->learning_rate = lr; }
    std::int64_t steps() const { return steps_; }
    std::int64_t epochs() const { return epochs_; }
    const Sequential& model() const { return model_; }
    const TrainerOptions& options() const { return options_; }
    // Per layer, the diagnostics added up since the last reset: train_epoch resets them at its
    // start, so after it they describe that epoch. A UserError unless options.diagnostics.
    std::span<const LayerDiagnostics> diagnostics() const;
    void reset_diagnostics();

    // The training-step graph as text (format_graph).
    std::string step_graph() const;

private:
    struct Impl;
    Sequential model_;
    TrainerOptions options_;
    std::unique_ptr<Optimizer> optimizer_;
    std::unique_ptr<Impl> impl_;
    Predictor predictor_;
    std::int64_t steps_ = 0;
    std::int64_t epochs_ = 0;
};

}  // namespace nnjit::nn
