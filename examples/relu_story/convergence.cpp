// Convergence: the same network, data and SGD (learning rate, batch, seed) with ReLU, sigmoid
// and tanh; the training loss at every step, and the steps until its trailing mean first
// reaches a target. Run at two depths: the deep network of the vanishing-gradient experiment
// and a shallow one, since the claim is usually made for deep networks.
#include <fmt/format.h>

#include <numeric>

#include "story.hpp"

namespace relu_story {

using namespace nnjit;

ConvergenceResult convergence(const Settings& settings) {
    const Dataset data = load_dataset(settings);
    ConvergenceResult r;
    r.target = settings.fast ? 0.7 : 0.8;
    r.window = settings.fast ? 8 : 20;
    const std::int64_t width = settings.fast ? 32 : 64, batch = 64;
    const double lr = 0.05;
    const int epochs = settings.epochs > 0 ? settings.epochs : (settings.fast ? 6 : 2);
    for (int depth : {3, settings.fast ? 10 : 20}) {
        std::vector<std::int64_t> sizes{data.features()};
        for (int l = 0; l + 1 < depth; ++l) sizes.push_back(width);
        sizes.push_back(data.classes());
        for (const auto& act : {nn::Activation::relu(), nn::Activation::sigmoid(), nn::Activation::tanh()}) {
            const nn::Sequential net = nn::mlp(sizes, act);
            nn::Trainer trainer = sgd_trainer(net, net.init(DType::f32, settings.seed), settings, lr, batch);
            ConvergenceRun run{std::string(act.name()), depth, {}, -1, 0};
            // Steps one by one, in the epochs' shuffled order, to record every step's loss.
            const std::int64_t n = data.x.shape()[0];
            Tensor bx = Tensor::empty(DType::f32, Shape{batch, data.features()});
            Tensor by = Tensor::empty(DType::f32, Shape{batch, data.classes()});
            for (int e = 0; e < epochs; ++e) {
                const auto order = nn::permutation(n, settings.seed * 1000 + static_cast<std::uint64_t>(e));
                for (std::int64_t start = 0; start + batch <= n; start += batch) {
                    const std::span<const std::int64_t> rows(order.data() + start, static_cast<std::size_t>(batch));
                    nn::gather_rows(data.x, rows, bx);
                    nn::gather_rows(data.y, rows, by);
                    run.loss.push_back(trainer.step(bx, by));
                    const std::size_t k = run.loss.size(), w = static_cast<std::size_t>(r.window);
                    if (k >= w) {
                        const double mean = std::accumulate(run.loss.end() - static_cast<std::ptrdiff_t>(w), run.loss.end(), 0.0) /
                                            static_cast<double>(w);
                        run.final_loss = mean;
                        if (run.steps_to_target < 0 && mean <= r.target) run.steps_to_target = static_cast<std::int64_t>(k);
                    }
                }
            }
            r.runs.push_back(std::move(run));
        }
    }
    return r;
}

void report(const ConvergenceResult& r, const Output& output) {
    fmt::print("\nConvergence: SGD (lr 0.05, batch 64), the same data and seed; trailing mean of {} steps\n\n", r.window);
    Table summary;
    summary.header = {"depth", "activation", "steps", "final loss", fmt::format("steps to loss {}", r.target)};
    for (const auto& run : r.runs)
        summary.rows.push_back({fmt::format("{}", run.depth), run.activation, fmt::format("{}", run.loss.size()),
                                fmt::format("{:.3f}", run.final_loss),
                                run.steps_to_target < 0 ? "not reached" : fmt::format("{}", run.steps_to_target)});
    fmt::print("{}", summary.markdown());
    Table curves;  // long format: one row per run and step
    curves.header = {"depth", "activation", "step", "loss"};
    for (const auto& run : r.runs)
        for (std::size_t s = 0; s < run.loss.size(); ++s)
            curves.rows.push_back({fmt::format("{}", run.depth), run.activation, fmt::format("{}", s + 1),
                                   fmt::format("{:.5g}", run.loss[s])});
    write_and_plot(output, "convergence", curves);
}

}  // namespace relu_story
