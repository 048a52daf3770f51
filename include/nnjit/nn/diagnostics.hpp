// Activation diagnostics cheap enough to leave on while training: per layer, the fraction of
// activations that are exactly zero (sparsity), the units whose input was never positive
// (dead units), and the norm of the weight gradient.
//
// The counts are sums of 0/1 indicators of the layer's pre-activation z (per unit, over the
// batch axis) and of its activation a (over everything). Built next to the layer, they read
// the same loop: the JIT makes them epilogues of the kernel that computes a = act(x @ W + b),
// so they cost no second pass over the activations. The JIT adds the comparisons as integers
// (8-bit counters per unit over blocks of rows, in vector registers when a light loop's row
// of them fits, a popcount for the total; for ReLU both from relu's own compare, the total as
// the elements less the per-unit counts: jit/codegen.cpp), the interpreter in float64, so the
// counts are exact; the float32 result per unit is too
// while the batch has fewer than 2^24 rows, the total zeros while the layer's batch has fewer
// than 2^24 activations. The zeros are one total because that costs no memory at all in the
// loop (a register), where a count per unit costs a byte-vector add (and a load and store
// when its counters are in memory).
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
    Value active;  // (units,): rows of the batch whose pre-activation is > 0, per unit
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
    std::vector<std::int64_t> active_rows;  // per unit: samples whose pre-activation was > 0
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
