// Sparsity: the fraction of activations that are exactly zero in each hidden layer of an MLP
// with three hidden layers, at initialisation (a pass over the data at learning rate 0) and
// over the last epoch of SGD training.
#include <fmt/format.h>

#include "story.hpp"

namespace relu_story {

using namespace nnjit;

SparsityResult sparsity(const Settings& settings) {
    const Dataset data = load_dataset(settings);
    SparsityResult r;
    const std::int64_t width = settings.fast ? 64 : 256, batch = 64;
    const double lr = 0.05;
    r.epochs = settings.epochs > 0 ? settings.epochs : 2;
    const std::vector<std::int64_t> sizes{data.features(), width, width, width, data.classes()};
    const int passes = static_cast<int>(data.x.shape()[0] / batch);  // one epoch's worth of batches
    for (const auto& act : {nn::Activation::relu(), nn::Activation::leaky_relu(), nn::Activation::prelu(),
                            nn::Activation::sigmoid(), nn::Activation::tanh()}) {
        const nn::Sequential net = nn::mlp(sizes, act);
        nn::Trainer trainer = sgd_trainer(net, net.init(DType::f32, settings.seed), settings, lr, batch);
        r.activations.emplace_back(act.name());
        std::vector<double> init, trained;
        const auto rest = diagnostics_at_rest(trainer, data, passes, lr);
        for (std::size_t l = 0; l + 1 < rest.size(); ++l) init.push_back(rest[l].sparsity());
        for (int e = 0; e < r.epochs; ++e) trainer.train_epoch(data.x, data.y);
        const auto last = trainer.diagnostics();  // of the last epoch
        for (std::size_t l = 0; l + 1 < last.size(); ++l) trained.push_back(last[l].sparsity());
        r.at_init.push_back(std::move(init));
        r.trained.push_back(std::move(trained));
    }
    return r;
}

void report(const SparsityResult& r, const Output& output) {
    fmt::print("\nSparsity: fraction of activations exactly 0 per hidden layer, at initialisation and over "
               "epoch {} of SGD\n\n", r.epochs);
    Table t;
    t.header = {"activation"};
    const std::size_t layers = r.at_init.front().size();
    for (std::size_t l = 0; l < layers; ++l) t.header.push_back(fmt::format("layer {} init", l + 1));
    for (std::size_t l = 0; l < layers; ++l) t.header.push_back(fmt::format("layer {} trained", l + 1));
    for (std::size_t a = 0; a < r.activations.size(); ++a) {
        std::vector<std::string> row{r.activations[a]};
        for (double s : r.at_init[a]) row.push_back(fmt::format("{:.3f}", s));
        for (double s : r.trained[a]) row.push_back(fmt::format("{:.3f}", s));
        t.rows.push_back(std::move(row));
    }
    fmt::print("{}", t.markdown());
    write_and_plot(output, "sparsity", t);
}

}  // namespace relu_story
