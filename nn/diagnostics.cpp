#include "nnjit/nn/diagnostics.hpp"

#include <cmath>
#include <utility>

#include "nnjit/error.hpp"
#include "nnjit/graph_ops.hpp"

namespace nnjit::nn {

LayerProbes activation_probes(Value pre_activation, Value activation) {
    if (pre_activation.shape().rank() != 2 || activation.shape() != pre_activation.shape())
        throw UserError(fmt::format("activation_probes: pre-activation and activation must be the same (batch, units) "
                                    "shape, got {} and {}", pre_activation.shape(), activation.shape()));
    const Value zero = pre_activation.graph().constant(0, pre_activation.dtype());
    return {max(greater(pre_activation, zero), std::int64_t{0}), sum(equal(activation, zero))};
}

Value squared_norm(Value gradient) { return sum(gradient * gradient); }

LayerDiagnostics::LayerDiagnostics(std::string layer_name, std::int64_t unit_count)
    : layer(std::move(layer_name)), units(unit_count), active_steps(static_cast<std::size_t>(unit_count), 0) {}

double LayerDiagnostics::sparsity() const {
    if (rows == 0) return 0;
    return static_cast<double>(zero_activations) / (static_cast<double>(rows) * static_cast<double>(units));
}

std::int64_t LayerDiagnostics::dead_units() const {
    if (rows == 0) return 0;
    std::int64_t dead = 0;
    for (std::int64_t a : active_steps) dead += a == 0;
    return dead;
}

double LayerDiagnostics::mean_weight_grad_norm() const {
    return steps == 0 ? 0 : weight_grad_norm_sum / static_cast<double>(steps);
}

void LayerDiagnostics::add_step(const Tensor& active, const Tensor& zeros, const Tensor& squared_grad_norm,
                                std::int64_t batch_rows) {
    if (active.numel() != units || zeros.numel() != 1 || squared_grad_norm.numel() != 1)
        throw InternalError(fmt::format("diagnostics of layer '{}' ({} units): probes of {}, {} and {} values", layer,
                                        units, active.numel(), zeros.numel(), squared_grad_norm.numel()));
    for (std::int64_t u = 0; u < units; ++u) active_steps[static_cast<std::size_t>(u)] += active.flat(u) > 0;
    // The count is an integer held exactly in the float dtype: rounding recovers it.
    zero_activations += std::llround(zeros.flat(0));
    rows += batch_rows;
    weight_grad_norm = std::sqrt(squared_grad_norm.flat(0));
    weight_grad_norm_sum += weight_grad_norm;
    ++steps;
}

void LayerDiagnostics::reset() { *this = LayerDiagnostics(std::move(layer), units); }

}  // namespace nnjit::nn
