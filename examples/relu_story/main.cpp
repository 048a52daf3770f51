// nnjit-relu-story: the claims made about ReLU, measured. One sub-command per experiment (or
// `all`); each prints a Markdown table and writes <out>/<experiment>.csv and .png.
//
//   nnjit-relu-story vanishing|convergence|sparsity|dying|cost|all
//       [--fast] [--engine interp|jit] [--samples N] [--epochs N] [--seed N]
//       [--data DIR] [--out DIR] [--python PATH] [--no-plot]
//
// --fast runs each experiment on a generated set with small networks (seconds); otherwise
// the first --samples (60000: all) Fashion-MNIST training images are used (Debian's
// dataset-fashion-mnist package, --data to point elsewhere).
#include <fmt/format.h>

#include <charconv>
#include <string_view>

#include "nnjit/error.hpp"
#include "story.hpp"

namespace {

using namespace relu_story;
using nnjit::UserError;

template <class T> T whole_number(std::string_view flag, std::string_view text) {
    T value{};
    const auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || p != text.data() + text.size())
        throw UserError(fmt::format("{}: '{}' is not a whole number", flag, text));
    return value;
}

int run(int argc, char** argv) {
    constexpr std::string_view kExperiments[] = {"vanishing", "convergence", "sparsity", "dying", "cost"};
    if (argc < 2) throw UserError("usage: nnjit-relu-story vanishing|convergence|sparsity|dying|cost|all [options]");
    const std::string_view which = argv[1];
    bool known = which == "all";
    for (auto e : kExperiments) known = known || e == which;
    if (!known) throw UserError(fmt::format("unknown experiment '{}' (vanishing, convergence, sparsity, dying, cost, all)", which));
    Settings settings;
    Output output;
    for (int i = 2; i < argc; ++i) {
        const std::string_view flag = argv[i];
        if (flag == "--fast") { settings.fast = true; continue; }
        if (flag == "--no-plot") { output.plot = false; continue; }
        if (i + 1 >= argc) throw UserError(fmt::format("{}: a value must follow", flag));
        const std::string_view v = argv[++i];
        if (flag == "--engine") {
            if (v == "interp") settings.backend = nnjit::Backend::interp;
            else if (v == "jit") settings.backend = nnjit::Backend::jit;
            else throw UserError(fmt::format("--engine: '{}' is neither interp nor jit", v));
        } else if (flag == "--samples") settings.samples = whole_number<std::int64_t>(flag, v);
        else if (flag == "--epochs") settings.epochs = whole_number<int>(flag, v);
        else if (flag == "--seed") settings.seed = whole_number<std::uint64_t>(flag, v);
        else if (flag == "--data") settings.data_dir = v;
        else if (flag == "--out") output.dir = v;
        else if (flag == "--python") output.python = v;
        else throw UserError(fmt::format("unknown option {}", flag));
    }
    if (settings.samples < 64 || settings.epochs < 0) throw UserError("--samples must be at least 64, --epochs not negative");
    fmt::print("engine {}, {}\n", nnjit::backend_name(settings.backend),
               settings.fast ? "fast mode (generated data)" : "Fashion-MNIST");
    auto wanted = [&](std::string_view e) { return which == "all" || which == e; };
    if (wanted("vanishing")) report(vanishing(settings), output);
    if (wanted("convergence")) report(convergence(settings), output);
    if (wanted("sparsity")) report(sparsity(settings), output);
    if (wanted("dying")) report(dying(settings), output);
    if (wanted("cost")) report(cost(settings), output);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return run(argc, argv);
    } catch (const UserError& e) {
        fmt::print(stderr, "error: {}\n", e.what());
        return 1;
    }
}
