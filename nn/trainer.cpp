#include "nnjit/nn/trainer.hpp"

#include <chrono>
#include <cmath>
#include <limits>
#include <utility>

#include "nnjit/autodiff.hpp"
#include "nnjit/error.hpp"
#include "nnjit/fold_products.hpp"
#include "nnjit/graph_ops.hpp"
#include "nnjit/nn/dataset.hpp"
#include "nnjit/nn/seed.hpp"
#include "nnjit/thread_policy.hpp"

namespace nnjit::nn {
namespace {

void set_scalar(Tensor& t, double value) {
    if (t.dtype() == DType::f32) *t.data<float>() = static_cast<float>(value);
    else *t.data<double>() = value;
}

// Names the step graph itself uses for its inputs; a parameter may not take one of them.
constexpr std::string_view kInputName = "x";
constexpr std::string_view kTargetName = "target";

// The parameters a trainer starts from: `initial` checked against the model, copied (the
// trainer writes into its buffers) and converted to the training dtype.
Parameters checked_copy(const Sequential& model, const Parameters& initial, DType dtype) {
    Parameters out;
    const auto specs = model.parameter_specs();
    for (const ParameterSpec& s : specs) {
        if (!initial.contains(s.name)) throw UserError(fmt::format("Trainer: no initial value for parameter '{}'", s.name));
        const Tensor& t = initial.at(s.name);
        if (t.shape() != s.shape)
            throw UserError(fmt::format("Trainer: parameter '{}' has shape {} in the model, {} in the values given",
                                        s.name, s.shape, t.shape()));
        out.add(s.name, t.dtype() == dtype ? t.clone() : t.to(dtype));
    }
    if (initial.size() != specs.size())
        for (const auto& e : initial.entries()) {
            bool known = false;
            for (const auto& s : specs) known = known || s.name == e.name;
            if (!known) throw UserError(fmt::format("Trainer: parameter '{}' given is not in the model", e.name));
        }
    return out;
}

}  // namespace

struct Trainer::Impl {
    std::unique_ptr<Graph> graph = std::make_unique<Graph>();
    std::vector<Value> outputs;  // loss, model output, new parameters..., new slots...
    std::unique_ptr<Program> program;
    Bindings bindings;
    // The bound tensors in the program's input order (input_names()), and x's and target's.
    std::vector<const Tensor*> inputs;
    Tensor* x = nullptr;
    Tensor* target = nullptr;
    std::vector<std::string> parameter_names;
    std::vector<std::string> state_names;  // "<slot>/<parameter>"
    // Current parameters then current slots, in the order of outputs[2...]; point into bindings.
    std::vector<Tensor*> current;
    // Handles onto the current parameters, which every step updates in place: predict's.
    Parameters live;
    // The tensors run_into writes, in the order of outputs: the new parameters and slots are
    // the current ones, written over in place.
    std::vector<Tensor> results;
    std::vector<std::pair<std::string, Tensor*>> scalars;
    Tensor batch_x, batch_target;  // train_epoch's gather buffers
    // With diagnostics: outputs[diagnostics_begin...] are, per layer, active, zeros, |dW|^2.
    std::size_t diagnostics_begin = 0;
    std::vector<LayerDiagnostics> diagnostics;
};

Trainer::Trainer(Sequential model, Loss loss, const Optimizer& optimizer, TrainerOptions options)
    : Trainer(model, model.init(options.dtype, options.seed), loss, optimizer, options) {}

Trainer::Trainer(Sequential model, const Parameters& initial, Loss loss, const Optimizer& optimizer,
                 TrainerOptions options)
    : model_(std::move(model)), options_(options), optimizer_(optimizer.clone()), impl_(std::make_unique<Impl>()),
      predictor_(model_, options.backend, options.dtype, options.batch_size) {
    if (options.batch_size <= 0)
        throw UserError(fmt::format("Trainer: the batch size must be positive, got {}", options.batch_size));
    Impl& im = *impl_;
    Graph& g = *im.graph;
    const DType dt = options.dtype;
    const std::int64_t batch = options.batch_size;
    Parameters start = checked_copy(model_, initial, dt);

    const auto slots = optimizer_->slots();
    const auto scalar_values = optimizer_->scalars(1);
    auto reserved = [&](std::string_view name) {
        if (name == kInputName || name == kTargetName) return true;
        for (const auto& [s, v] : scalar_values)
            if (s == name) return true;
        return name.find('/') != std::string_view::npos;  // slot names are <slot>/<parameter>
    };
    for (const auto& e : start.entries())
        if (reserved(e.name))
            throw UserError(fmt::format("Trainer: a parameter may not be called '{}' (the step graph uses that name)", e.name));

    const Value x = g.input(kInputName, dt, Shape{batch, model_.input_size()});
    const Value target = g.input(kTargetName, dt, Shape{batch, model_.output_size()});
    // The layers one by one (the same nodes as model_.forward(x)), keeping what the
    // diagnostics read.
    std::vector<LayerProbes> probes;
    Value output = x;
    for (const Dense& layer : model_.layers()) {
        const Value z = layer.pre_activation(output);
        output = layer.activate(z);
        if (options.diagnostics) probes.push_back(activation_probes(z, output));
    }
    const Value loss_node = loss_value(loss, output, target);

    std::vector<Value> params;
    for (const auto& e : start.entries()) {
        params.push_back(g.parameter(e.name, dt, e.value.shape()));
        im.parameter_names.push_back(e.name);
    }
    const std::vector<Value> grads = grad(loss_node, params);

    const ScalarInput scalar = [&](std::string_view name) { return g.input(name, dt, Shape{}); };
    std::vector<Value> new_params, new_slots;
    Parameters state;
    for (std::size_t i = 0; i < params.size(); ++i) {
        std::vector<Value> slot_values;
        for (const std::string& s : slots) {
            const std::string name = fmt::format("{}/{}", s, im.parameter_names[i]);
            slot_values.push_back(g.input(name, dt, params[i].shape()));
            state.add(name, Tensor::zeros(dt, params[i].shape()));
            im.state_names.push_back(name);
        }
        auto updated = optimizer_->update(params[i], grads[i], slot_values, scalar);
        if (updated.size() != 1 + slots.size())
            throw InternalError(fmt::format("optimizer {} returned {} values for {} slots", optimizer_->name(),
                                            updated.size(), slots.size()));
        new_params.push_back(cast(updated[0], dt));
        for (std::size_t k = 1; k < updated.size(); ++k) new_slots.push_back(cast(updated[k], dt));
    }
    im.outputs = {loss_node, output};
    im.outputs.insert(im.outputs.end(), new_params.begin(), new_params.end());
    im.outputs.insert(im.outputs.end(), new_slots.begin(), new_slots.end());
    im.diagnostics_begin = im.outputs.size();
    for (std::size_t l = 0; l < probes.size(); ++l) {
        const Dense& layer = model_.layers()[l];
        const std::string weight = layer.name + ".weight";
        std::size_t w = 0;
        while (im.parameter_names[w] != weight) ++w;  // every layer declares its weight
        im.outputs.insert(im.outputs.end(), {probes[l].active, probes[l].zeros, squared_norm(grads[w])});
        im.diagnostics.emplace_back(layer.name, layer.out);
    }
    // Weight gradients that only the update reads are accumulated by BLAS straight into the
    // new weights (SGD), or into the new velocity (momentum): see fold_products.hpp.
    im.outputs = fold_products(im.outputs);
    // Each new parameter and slot is written over the current one (see InPlace): no second
    // buffer, and the folded products accumulate into the parameter where it is.
    std::vector<InPlace> in_place;
    for (std::size_t i = 0; i < im.parameter_names.size(); ++i) in_place.push_back({2 + i, im.parameter_names[i]});
    for (std::size_t i = 0; i < im.state_names.size(); ++i)
        in_place.push_back({2 + im.parameter_names.size() + i, im.state_names[i]});
    im.program = compile(im.outputs, options.backend, in_place);

    // Bindings: every map entry is made once; steps only swap the tensors inside them.
    im.bindings.emplace(kInputName, Tensor::zeros(dt, x.shape()));
    im.bindings.emplace(kTargetName, Tensor::zeros(dt, target.shape()));
    for (const auto& e : start.entries()) im.current.push_back(&im.bindings.emplace(e.name, e.value).first->second);
    for (const auto& e : state.entries()) im.current.push_back(&im.bindings.emplace(e.name, e.value).first->second);
    for (std::size_t i = 0; i < im.parameter_names.size(); ++i) im.live.add(im.parameter_names[i], *im.current[i]);
    for (const auto& [name, value] : scalar_values) {
        Tensor& t = im.bindings.emplace(name, Tensor::zeros(dt, Shape{})).first->second;
        set_scalar(t, value);
        im.scalars.emplace_back(name, &t);
    }
    for (const std::string& name : im.program->input_names()) im.inputs.push_back(&im.bindings.at(name));
    im.x = &im.bindings.at(std::string(kInputName));
    im.target = &im.bindings.at(std::string(kTargetName));
    for (std::size_t k = 0; k < im.outputs.size(); ++k) {
        const bool updated = k >= 2 && k < 2 + im.current.size();
        im.results.push_back(updated ? *im.current[k - 2] : Tensor::empty(im.outputs[k].dtype(), im.outputs[k].shape()));
    }
    im.batch_x = Tensor::empty(dt, x.shape());
    im.batch_target = Tensor::empty(dt, target.shape());
}

Trainer::~Trainer() = default;

double Trainer::step(const Tensor& x, const Tensor& target) {
    Impl& im = *impl_;
    const Shape xs{options_.batch_size, model_.input_size()}, ts{options_.batch_size, model_.output_size()};
    if (x.dtype() != options_.dtype || x.shape() != xs)
        throw UserError(fmt::format("Trainer::step: x must be {} {}, got {} {}", options_.dtype, xs, x.dtype(), x.shape()));
    if (target.dtype() != options_.dtype || target.shape() != ts)
        throw UserError(fmt::format("Trainer::step: target must be {} {}, got {} {}", options_.dtype, ts,
                                    target.dtype(), target.shape()));
    *im.x = x;  // a handle: no copy
    *im.target = target;
    ++steps_;
    for (const auto& [name, value] : optimizer_->scalars(steps_))
        for (auto& [bound, tensor] : im.scalars)
            if (bound == name) set_scalar(*tensor, value);
    im.program->run_into(im.inputs, im.results);  // the parameters and slots are updated in place
    for (std::size_t l = 0; l < im.diagnostics.size(); ++l) {
        const std::size_t o = im.diagnostics_begin + 3 * l;
        im.diagnostics[l].add_step(im.results[o], im.results[o + 1], im.results[o + 2], options_.batch_size);
    }
    return im.results[0].flat(0);
}

EpochStats Trainer::train_epoch(const Tensor& x, const Tensor& target) {
    Impl& im = *impl_;
    const auto t0 = std::chrono::steady_clock::now();
    if (x.rank() != 2 || target.rank() != 2 || x.shape()[0] != target.shape()[0])
        throw UserError(fmt::format("train_epoch: x and target must be 2-D with one row per sample, got {} and {}",
                                    x.shape(), target.shape()));
    const std::int64_t n = x.shape()[0], batch = options_.batch_size;
    if (n < batch)
        throw UserError(fmt::format("train_epoch: {} samples make no batch of {}", n, batch));
    const auto order = permutation(n, derive_seed(options_.seed, 1000 + static_cast<std::uint64_t>(epochs_)));
    for (LayerDiagnostics& d : im.diagnostics) d.reset();
    const ParallelCall epoch;  // OpenMP's workers wait from step to step, released after the last
    EpochStats stats;
    double loss_sum = 0;
    std::int64_t correct = 0, batches = 0;
    for (std::int64_t start = 0; start + batch <= n; start += batch, ++batches) {
        const std::span<const std::int64_t> rows(order.data() + start, static_cast<std::size_t>(batch));
        gather_rows(x, rows, im.batch_x);
        gather_rows(target, rows, im.batch_target);
        loss_sum += step(im.batch_x, im.batch_target);
        correct += count_correct(im.results[1], im.batch_target);
    }
    ++epochs_;
    stats.samples = batches * batch;
    stats.loss = loss_sum / static_cast<double>(batches);
    stats.accuracy = static_cast<double>(correct) / static_cast<double>(stats.samples);
    stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return stats;
}

Parameters Trainer::parameters() const {
    Parameters p;
    for (std::size_t i = 0; i < impl_->parameter_names.size(); ++i)
        p.add(impl_->parameter_names[i], impl_->current[i]->clone());
    return p;
}

Parameters Trainer::optimizer_state() const {
    Parameters p;
    const std::size_t np = impl_->parameter_names.size();
    for (std::size_t i = 0; i < impl_->state_names.size(); ++i) p.add(impl_->state_names[i], impl_->current[np + i]->clone());
    return p;
}

Tensor Trainer::predict(const Tensor& x) const { return predictor_.predict(x, impl_->live); }

double Trainer::accuracy(const Tensor& x, const Tensor& target) const {
    const Tensor out = predict(x);
    if (out.shape()[0] == 0) throw UserError("accuracy: no samples");
    return static_cast<double>(count_correct(out, target)) / static_cast<double>(out.shape()[0]);
}

std::span<const LayerDiagnostics> Trainer::diagnostics() const {
    if (!options_.diagnostics) throw UserError("Trainer::diagnostics: diagnostics are off (set TrainerOptions::diagnostics)");
    return impl_->diagnostics;
}

void Trainer::reset_diagnostics() {
    for (LayerDiagnostics& d : impl_->diagnostics) d.reset();
}

std::string Trainer::step_graph() const { return format_graph(impl_->outputs); }

}  // namespace nnjit::nn
