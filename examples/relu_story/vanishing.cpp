// Vanishing gradients: a deep MLP (20 dense layers; 10 in fast mode) with sigmoid, tanh or
// ReLU, each with the initialisation that suits it (Glorot for sigmoid and tanh, He for
// ReLU). The weight-gradient norm of every layer, from the diagnostics, at initialisation and
// after some SGD training.
#include <fmt/format.h>

#include "story.hpp"

namespace relu_story {

using namespace nnjit;

namespace {

std::vector<double> gradient_norms(const std::vector<nn::LayerDiagnostics>& layers) {
    std::vector<double> norms;
    for (const auto& d : layers) norms.push_back(d.mean_weight_grad_norm());
    return norms;
}

}  // namespace

VanishingResult vanishing(const Settings& settings) {
    const Dataset data = load_dataset(settings);
    VanishingResult r;
    r.depth = settings.fast ? 10 : 20;
    const std::int64_t width = settings.fast ? 32 : 64, batch = 64;
    const double lr = 0.05;
    const int epochs = settings.epochs > 0 ? settings.epochs : 2;
    std::vector<std::int64_t> sizes{data.features()};
    for (int l = 0; l + 1 < r.depth; ++l) sizes.push_back(width);
    sizes.push_back(data.classes());
    for (const auto& act : {nn::Activation::sigmoid(), nn::Activation::tanh(), nn::Activation::relu()}) {
        const nn::Sequential net = nn::mlp(sizes, act);
        nn::Trainer trainer = sgd_trainer(net, net.init(DType::f32, settings.seed), settings, lr, batch);
        r.activations.emplace_back(act.name());
        r.at_init.push_back(gradient_norms(diagnostics_at_rest(trainer, data, 10, lr)));
        const std::int64_t before = trainer.steps();
        for (int e = 0; e < epochs; ++e) trainer.train_epoch(data.x, data.y);
        r.steps_trained = static_cast<int>(trainer.steps() - before);
        r.trained.push_back(gradient_norms(diagnostics_at_rest(trainer, data, 10, lr)));
    }
    return r;
}

void report(const VanishingResult& r, const Output& output) {
    fmt::print("\nVanishing gradients: |dL/dW| per layer of a {}-layer MLP, mean over 10 batches, "
               "at initialisation and after {} SGD steps\n\n", r.depth, r.steps_trained);
    Table t;
    t.header = {"layer"};
    for (const auto& a : r.activations) t.header.push_back(a + " init");
    for (const auto& a : r.activations) t.header.push_back(a + " trained");
    const std::size_t layers = r.at_init.front().size();
    for (std::size_t l = 0; l < layers; ++l) {
        std::vector<std::string> row{fmt::format("{}", l + 1)};
        for (const auto& v : r.at_init) row.push_back(sci(v[l]));
        for (const auto& v : r.trained) row.push_back(sci(v[l]));
        t.rows.push_back(std::move(row));
    }
    std::vector<std::string> ratio{"first/last"};
    for (const auto& v : r.at_init) ratio.push_back(sci(v.front() / v.back()));
    for (const auto& v : r.trained) ratio.push_back(sci(v.front() / v.back()));
    Table printed = t;
    printed.rows.push_back(std::move(ratio));
    fmt::print("{}", printed.markdown());
    write_and_plot(output, "vanishing", t);
}

}  // namespace relu_story
