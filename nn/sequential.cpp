#include "nnjit/nn/sequential.hpp"

#include "nnjit/error.hpp"
#include "nnjit/nn/seed.hpp"

namespace nnjit::nn {

Sequential& Sequential::add(Dense layer) {
    if (layer.name.empty()) layer.name = fmt::format("dense{}", layers_.size());
    for (const Dense& l : layers_)
        if (l.name == layer.name) throw UserError(fmt::format("Sequential: two layers are named '{}'", layer.name));
    if (layer.in <= 0 || layer.out <= 0)
        throw UserError(fmt::format("Sequential: layer '{}' has sizes {} -> {}; both must be positive", layer.name,
                                    layer.in, layer.out));
    if (!layers_.empty() && layers_.back().out != layer.in)
        throw UserError(fmt::format("Sequential: layer '{}' takes {} inputs but layer '{}' gives {}", layer.name,
                                    layer.in, layers_.back().name, layers_.back().out));
    layers_.push_back(std::move(layer));
    return *this;
}

std::int64_t Sequential::input_size() const {
    if (layers_.empty()) throw UserError("Sequential: the network has no layers");
    return layers_.front().in;
}

std::int64_t Sequential::output_size() const {
    if (layers_.empty()) throw UserError("Sequential: the network has no layers");
    return layers_.back().out;
}

std::vector<ParameterSpec> Sequential::parameter_specs() const {
    std::vector<ParameterSpec> specs;
    for (const Dense& l : layers_)
        for (auto& s : l.parameter_specs()) specs.push_back(std::move(s));
    return specs;
}

Parameters Sequential::init(DType dtype, std::uint64_t seed) const {
    Parameters params;
    for (std::size_t i = 0; i < layers_.size(); ++i) layers_[i].init(params, dtype, derive_seed(seed, i));
    return params;
}

Value Sequential::forward(Value x) const {
    if (layers_.empty()) throw UserError("Sequential: the network has no layers");
    for (const Dense& l : layers_) x = l.forward(x);
    return x;
}

Sequential mlp(const std::vector<std::int64_t>& sizes, Activation hidden, Activation output) {
    if (sizes.size() < 2) throw UserError(fmt::format("mlp: needs at least an input and an output size, got {}", sizes.size()));
    Sequential net;
    for (std::size_t i = 0; i + 1 < sizes.size(); ++i)
        net.add(Dense{fmt::format("dense{}", i), sizes[i], sizes[i + 1], i + 2 == sizes.size() ? output : hidden});
    return net;
}

}  // namespace nnjit::nn
