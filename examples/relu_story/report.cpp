#include <cmath>
#include <cstdio>
#include <cstdlib>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "nnjit/error.hpp"
#include "story.hpp"

#ifndef RELU_STORY_PLOT_SCRIPT
#error "RELU_STORY_PLOT_SCRIPT names plot.py (set by CMake)"
#endif

namespace relu_story {

using namespace nnjit;

std::string Table::markdown() const {
    std::vector<std::size_t> width(header.size(), 3);
    for (std::size_t c = 0; c < header.size(); ++c) width[c] = std::max(width[c], header[c].size());
    for (const auto& row : rows)
        for (std::size_t c = 0; c < row.size() && c < width.size(); ++c) width[c] = std::max(width[c], row[c].size());
    auto line = [&](const std::vector<std::string>& cells) {
        std::string s = "|";
        for (std::size_t c = 0; c < width.size(); ++c)
            s += fmt::format(" {:<{}} |", c < cells.size() ? cells[c] : "", width[c]);
        return s + "\n";
    };
    std::string out = line(header) + "|";
    for (std::size_t w : width) out += std::string(w + 2, '-') + "|";
    out += "\n";
    for (const auto& row : rows) out += line(row);
    return out;
}

void write_and_plot(const Output& output, const std::string& name, const Table& table) {
    std::filesystem::create_directories(output.dir);
    const auto csv = output.dir / (name + ".csv");
    std::FILE* f = std::fopen(csv.c_str(), "w");
    if (!f) throw UserError(fmt::format("cannot write {}", csv.string()));
    fmt::print(f, "{}\n", fmt::join(table.header, ","));
    for (const auto& row : table.rows) fmt::print(f, "{}\n", fmt::join(row, ","));
    std::fclose(f);
    fmt::print("wrote {}\n", csv.string());
    if (!output.plot) return;
    const auto png = output.dir / (name + ".png");
    std::fflush(stdout);  // our lines before the plotter's
    const std::string command =
        fmt::format("'{}' '{}' {} '{}' '{}'", output.python, RELU_STORY_PLOT_SCRIPT, name, csv.string(), png.string());
    if (std::system(command.c_str()) == 0) fmt::print("wrote {}\n", png.string());
    else fmt::print("no plot: `{}` failed (it needs python3 with matplotlib; --python PATH, or --no-plot)\n", command);
}

std::string sci(double v) {
    if (v == 0) return "0";
    const double a = std::abs(v);
    return a >= 1e-3 && a < 1e4 ? fmt::format("{:.3g}", v) : fmt::format("{:.2e}", v);
}

nn::Trainer sgd_trainer(const nn::Sequential& net, const nn::Parameters& initial, const Settings& settings,
                        double learning_rate, std::int64_t batch) {
    return nn::Trainer(net, initial, nn::Loss::softmax_cross_entropy, nn::Sgd(learning_rate),
                       {.backend = settings.backend, .dtype = DType::f32, .batch_size = batch, .seed = settings.seed,
                        .diagnostics = true});
}

std::vector<nn::LayerDiagnostics> diagnostics_at_rest(nn::Trainer& trainer, const Dataset& data, int steps,
                                                      double learning_rate_after) {
    const std::int64_t batch = trainer.options().batch_size;
    Tensor bx = Tensor::empty(DType::f32, Shape{batch, data.features()});
    Tensor by = Tensor::empty(DType::f32, Shape{batch, data.classes()});
    trainer.set_learning_rate(0);
    trainer.reset_diagnostics();
    const std::int64_t n = data.x.shape()[0];
    std::vector<std::int64_t> rows(static_cast<std::size_t>(batch));
    for (int s = 0; s < steps; ++s) {
        for (std::int64_t r = 0; r < batch; ++r) rows[static_cast<std::size_t>(r)] = (s * batch + r) % n;
        nn::gather_rows(data.x, rows, bx);
        nn::gather_rows(data.y, rows, by);
        trainer.step(bx, by);
    }
    const auto d = trainer.diagnostics();
    std::vector<nn::LayerDiagnostics> out(d.begin(), d.end());
    trainer.set_learning_rate(learning_rate_after);
    trainer.reset_diagnostics();
    return out;
}

}  // namespace relu_story
