// Activation diagnostics cheap enough to leave on while training: per layer, the fraction of
// activations that are exactly zero (sparsity), the units whose input was never positive
// (dead units), and the norm of the weight gradient.
//
// The probes are reductions of 0/1 indicators: of the layer's pre-activation z, per unit, the
// max over the batch axis (1 when some sample had z > 0: the unit was active in the batch),
// and of its activation a, the sum over everything (the zeros). Built next to the layer, they
// read the same loop: the JIT makes them epilogues of the kernel that computes
// a = act(x @ W + b), so they cost no second pass over the activations. The JIT keeps a bit
// per unit, or-ing in the comparisons' lane masks (ReLU: 8-bit counters per unit from relu's
// own compare, the zeros as the elements less those counts; sigmoid: its zeros only after an
// underflow; jit/codegen.cpp), the interpreter computes them in float64: the results are exact,
// the zeros in float32 while the layer's batch has fewer than 2^24 activations.
//
// Per unit the probe says whether, not how often: a dead unit needs no more, and a count per
// unit costs a byte-vector add per 64 units and row where the bit costs an integer or (the
// probed sigmoid kernel: ~+6% over the plain one with counts, ~+3.5% with bits, Zen 5;
// docs/relu-story.md).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "nnjit/graph.hpp"
#include "nnjit/tensor.hpp"

namespace nnjit::nn {

// The graph values one layer's diagnostics read, each an extra output of the step graph.
struct LayerProbes {
    Value active;  // (units,): 1 where some row of the batch has pre-activation > 0, else 0
    Value zeros;   // (): activations of the batch exactly 0, all units together
};

// z and a: (batch, units), the layer's pre-activation and activation.
LayerProbes activation_probes(Value pre_activation, Value activation);
// sum(g * g), a scalar: the squared Frobenius norm of a gradient.
Value squared_norm(Value gradient);

// What the probes of one layer add up to since the last reset.
struct LayerDiagnostics {
    std::string layer;
    std::int64_t units = 0;
    std::int64_t rows = 0;                  // samples seen
    std::vector<std::int64_t> active_steps;  // per unit: steps with a sample whose pre-activation was > 0
    std::int64_t zero_activations = 0;      // activations exactly 0, all units together
    double weight_grad_norm = 0;            // of the last step
    std::int64_t steps = 0;
    double weight_grad_norm_sum = 0;        // over the steps, for the mean

    LayerDiagnostics() = default;
    LayerDiagnostics(std::string layer_name, std::int64_t unit_count);

    // Fraction of the activations seen that were exactly 0 (0 before any sample).
    double sparsity() const;
    // Units never active (pre-activation never > 0) over the samples seen; 0 before any.
    std::int64_t dead_units() const;
    double mean_weight_grad_norm() const;

    // Adds one step: `active` and `zeros` as the probes computed them, `squared_grad_norm`
    // the scalar of squared_norm(); dtypes f32 or f64.
    void add_step(const Tensor& active, const Tensor& zeros, const Tensor& squared_grad_norm, std::int64_t batch_rows);
    void reset();
};

}  // namespace nnjit::nn
