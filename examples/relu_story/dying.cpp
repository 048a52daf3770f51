// Dying ReLU: units whose input is never positive over a whole epoch (the diagnostics' dead
// units, all hidden layers together), epoch by epoch, for ReLU, Leaky ReLU and PReLU, under
// two conditions known to kill ReLU units: a large learning rate, and biases initialised
// negative. An epoch whose loss is not finite shows as diverged: NaN inputs are never > 0,
// so its count would say nothing about dying. The same measure is applied to all three: for Leaky ReLU and PReLU a "dead" unit
// still passes a small gradient, so it may come back.
#include <fmt/format.h>

#include <cmath>

#include "story.hpp"

namespace relu_story {

using namespace nnjit;

DyingResult dying(const Settings& settings) {
    const Dataset data = load_dataset(settings);
    DyingResult r;
    const std::int64_t width = settings.fast ? 64 : 128, batch = 64;
    const int epochs = settings.epochs > 0 ? settings.epochs : 5;
    const std::vector<std::int64_t> sizes{data.features(), width, width, width, data.classes()};
    r.hidden_units = 3 * width;
    struct Condition {
        std::string name;
        double lr;
        double bias;  // every hidden bias starts here
    };
    // Where large learning rates start to kill units, and where they make training diverge,
    // depends on the data: the full run sweeps a few; the fast run takes one.
    std::vector<Condition> conditions;
    for (double lr : settings.fast ? std::vector<double>{0.5} : std::vector<double>{0.1, 0.2, 0.3})
        conditions.push_back({fmt::format("lr {}", lr), lr, 0.0});
    conditions.push_back({"bias -1.5", 0.05, -1.5});
    for (const Condition& c : conditions)
        for (const auto& act : {nn::Activation::relu(), nn::Activation::leaky_relu(), nn::Activation::prelu()}) {
            const nn::Sequential net = nn::mlp(sizes, act);
            nn::Parameters initial = net.init(DType::f32, settings.seed);
            for (std::size_t l = 0; l + 1 < net.layers().size(); ++l) {
                Tensor& b = initial.at(net.layers()[l].name + ".bias");
                for (std::int64_t u = 0; u < b.numel(); ++u) b.data<float>()[u] = static_cast<float>(c.bias);
            }
            nn::Trainer trainer = sgd_trainer(net, initial, settings, c.lr, batch);
            DyingRun run{c.name, std::string(act.name()), {}, {}, {}};
            for (int e = 0; e < epochs; ++e) {
                const nn::EpochStats s = trainer.train_epoch(data.x, data.y);
                std::int64_t dead = 0;
                const auto d = trainer.diagnostics();
                for (std::size_t l = 0; l + 1 < d.size(); ++l) dead += d[l].dead_units();
                run.dead.push_back(dead);
                run.train_accuracy.push_back(s.accuracy);
                run.loss.push_back(s.loss);
            }
            r.runs.push_back(std::move(run));
        }
    return r;
}

void report(const DyingResult& r, const Output& output) {
    fmt::print("\nDying units: hidden units (of {}) whose input was never > 0 during the epoch; "
               "training accuracy of the last epoch\n\n", r.hidden_units);
    Table t;
    t.header = {"condition", "activation"};
    for (std::size_t e = 0; e < r.runs.front().dead.size(); ++e) t.header.push_back(fmt::format("epoch {}", e + 1));
    t.header.push_back("last loss");
    t.header.push_back("last train acc");
    for (const auto& run : r.runs) {
        std::vector<std::string> row{run.condition, run.activation};
        for (std::size_t e = 0; e < run.dead.size(); ++e)
            row.push_back(std::isfinite(run.loss[e]) ? fmt::format("{}", run.dead[e]) : "diverged");
        row.push_back(fmt::format("{:.3f}", run.loss.back()));
        row.push_back(fmt::format("{:.3f}", run.train_accuracy.back()));
        t.rows.push_back(std::move(row));
    }
    fmt::print("{}", t.markdown());
    write_and_plot(output, "dying", t);
}

}  // namespace relu_story
