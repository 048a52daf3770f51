#include "nnjit/nn/dense.hpp"

#include <cmath>

#include "nnjit/error.hpp"
#include "nnjit/graph_ops.hpp"
#include "nnjit/nn/seed.hpp"

namespace nnjit::nn {

std::vector<ParameterSpec> Dense::parameter_specs() const {
    std::vector<ParameterSpec> specs{{name + ".weight", Shape{in, out}}, {name + ".bias", Shape{out}}};
    if (activation.has_parameter()) specs.push_back({name + ".slope", Shape{out}});
    return specs;
}

void Dense::init(Parameters& params, DType dtype, std::uint64_t seed) const {
    if (in <= 0 || out <= 0) throw UserError(fmt::format("layer '{}': sizes must be positive, got {} -> {}", name, in, out));
    const Shape w_shape{in, out};
    const std::uint64_t w_seed = derive_seed(seed, 0);
    Tensor w;
    if (activation.init() == Init::he_normal) {
        const double std = activation.gain() / std::sqrt(static_cast<double>(in));
        const Tensor z = Tensor::randn(DType::f64, w_shape, w_seed);
        w = Tensor::empty(DType::f64, w_shape);
        for (std::int64_t i = 0; i < z.numel(); ++i) w.data<double>()[i] = std * z.data<double>()[i];
    } else {
        const double limit = std::sqrt(6.0 / static_cast<double>(in + out));
        const Tensor u = Tensor::rand(DType::f64, w_shape, w_seed);
        w = Tensor::empty(DType::f64, w_shape);
        for (std::int64_t i = 0; i < u.numel(); ++i) w.data<double>()[i] = limit * (2 * u.data<double>()[i] - 1);
    }
    params.add(name + ".weight", w.to(dtype));
    params.add(name + ".bias", Tensor::zeros(dtype, Shape{out}));
    if (activation.has_parameter())
        params.add(name + ".slope", Tensor::full(dtype, Shape{out}, Activation::kPreluInitialSlope));
}

Value Dense::pre_activation(Value x) const {
    if (x.shape().rank() != 2 || x.shape()[1] != in)
        throw UserError(fmt::format("layer '{}' takes (batch, {}), got shape {}", name, in, x.shape()));
    Graph& g = x.graph();
    const Value w = g.parameter(name + ".weight", x.dtype(), Shape{in, out});
    const Value b = g.parameter(name + ".bias", x.dtype(), Shape{out});
    return matmul(x, w) + b;
}

Value Dense::activate(Value z) const {
    if (z.shape().rank() != 2 || z.shape()[1] != out)
        throw UserError(fmt::format("layer '{}' activates (batch, {}), got shape {}", name, out, z.shape()));
    const Value slope = activation.has_parameter() ? z.graph().parameter(name + ".slope", z.dtype(), Shape{out}) : Value();
    return activation(z, slope);
}

}  // namespace nnjit::nn
