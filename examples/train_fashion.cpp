// Trains a 784-256-256-10 MLP on Fashion-MNIST (Debian's dataset-fashion-mnist package) with
// Adam, one compiled training-step plan run per batch, and prints a line per epoch.
//
//   nnjit-train-fashion [--activation relu|leaky_relu|prelu|sigmoid|tanh|gelu|silu]
//                       [--engine jit|interp] [--epochs N] [--batch N] [--seed N]
//                       [--limit N] [--lr X] [--data DIR] [--save DIR]
// --limit N trains on the first N training images and tests on the first N/6 test images
// (a quick run). The learning rate decays along a cosine over the epochs.
#include <fmt/core.h>

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <numbers>
#include <string>
#include <string_view>

#include "nnjit/engine.hpp"
#include "nnjit/error.hpp"
#include "nnjit/idx.hpp"
#include "nnjit/nn.hpp"

namespace {

using namespace nnjit;

struct Options {
    std::string activation = "relu";
    Backend backend = Backend::jit;
    int epochs = 10;
    std::int64_t batch = 128;
    std::uint64_t seed = 1;
    std::int64_t limit = 0;  // 0: all samples
    double lr = 1e-3;
    std::string data = "/usr/share/datasets/fashion-mnist";
    std::string save;
};

template <class T> T number(std::string_view flag, std::string_view text) {
    T value{};
    if constexpr (std::is_floating_point_v<T>) {
        char* end = nullptr;
        const std::string s(text);
        value = std::strtod(s.c_str(), &end);
        if (s.empty() || *end != '\0') throw UserError(fmt::format("{}: '{}' is not a number", flag, text));
    } else {
        const auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (ec != std::errc() || p != text.data() + text.size())
            throw UserError(fmt::format("{}: '{}' is not a whole number", flag, text));
    }
    return value;
}

Options parse(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string_view flag = argv[i];
        if (i + 1 >= argc) throw UserError(fmt::format("{}: a value must follow (see the usage at the top of the source)", flag));
        const std::string_view v = argv[++i];
        if (flag == "--activation") o.activation = v;
        else if (flag == "--engine") {
            if (v == "interp") o.backend = Backend::interp;
            else if (v == "jit") o.backend = Backend::jit;
            else throw UserError(fmt::format("--engine: '{}' is neither interp nor jit", v));
        } else if (flag == "--epochs") o.epochs = number<int>(flag, v);
        else if (flag == "--batch") o.batch = number<std::int64_t>(flag, v);
        else if (flag == "--seed") o.seed = number<std::uint64_t>(flag, v);
        else if (flag == "--limit") o.limit = number<std::int64_t>(flag, v);
        else if (flag == "--lr") o.lr = number<double>(flag, v);
        else if (flag == "--data") o.data = v;
        else if (flag == "--save") o.save = v;
        else throw UserError(fmt::format("unknown option {}", flag));
    }
    if (o.epochs < 1 || o.batch < 1 || o.limit < 0 || !(o.lr > 0))
        throw UserError("--epochs, --batch and --lr must be positive, --limit not negative");
    return o;
}

// Images (n, 28, 28) of 0..255 become rows of 784 standardised with the training set's mean
// and standard deviation; labels become one-hot rows.
struct Split {
    Tensor x, y;
};

Split load(const Options& o, std::string_view prefix, std::int64_t limit, double& mean, double& stddev, bool fit) {
    auto d = read_idx_dataset(fmt::format("{}/{}-images-idx3-ubyte.gz", o.data, prefix),
                              fmt::format("{}/{}-labels-idx1-ubyte.gz", o.data, prefix));
    std::int64_t n = d.samples.shape()[0];
    if (limit > 0 && limit < n) n = limit;
    const std::int64_t features = d.samples.numel() / d.samples.shape()[0];
    Tensor x = Tensor::empty(DType::f32, Shape{n, features});
    const float* src = d.samples.data<float>();
    float* dst = x.data<float>();
    if (fit) {
        double s = 0, s2 = 0;
        for (std::int64_t i = 0; i < n * features; ++i) s += src[i] / 255.0, s2 += (src[i] / 255.0) * (src[i] / 255.0);
        mean = s / static_cast<double>(n * features);
        stddev = std::sqrt(s2 / static_cast<double>(n * features) - mean * mean);
    }
    for (std::int64_t i = 0; i < n * features; ++i) dst[i] = static_cast<float>((src[i] / 255.0 - mean) / stddev);
    const Tensor labels = Tensor::from<float>(Shape{n}, std::span<const float>(d.labels.data<float>(), static_cast<std::size_t>(n)));
    return {x, nn::one_hot(labels, 10)};
}

int run(int argc, char** argv) {
    const Options o = parse(argc, argv);
    double mean = 0, stddev = 1;
    const Split train = load(o, "train", o.limit, mean, stddev, true);
    const Split test = load(o, "t10k", o.limit / 6, mean, stddev, false);
    const auto net = nn::mlp({784, 256, 256, 10}, nn::Activation::parse(o.activation));
    fmt::print("Fashion-MNIST: {} training, {} test images; MLP 784-256-256-10 {}, Adam lr {}, batch {}, engine {}\n",
               train.x.shape()[0], test.x.shape()[0], o.activation, o.lr, o.batch, backend_name(o.backend));
    nn::Trainer trainer(net, nn::Loss::softmax_cross_entropy, nn::Adam(o.lr),
                        {.backend = o.backend, .dtype = DType::f32, .batch_size = o.batch, .seed = o.seed});
    for (int e = 0; e < o.epochs; ++e) {
        // Cosine decay to zero over the run: the last epochs settle instead of bouncing.
        trainer.set_learning_rate(o.lr * 0.5 * (1 + std::cos(std::numbers::pi * e / o.epochs)));
        const nn::EpochStats s = trainer.train_epoch(train.x, train.y);
        const double test_accuracy = trainer.accuracy(test.x, test.y);
        fmt::print("epoch {:2}/{}  loss {:.4f}  train {:.2f}%  test {:.2f}%  {:.2f} s  {:.0f} samples/s\n", e + 1,
                   o.epochs, s.loss, 100 * s.accuracy, 100 * test_accuracy, s.seconds,
                   static_cast<double>(s.samples) / s.seconds);
        std::fflush(stdout);
    }
    if (!o.save.empty()) {
        nn::save_weights(o.save, trainer.parameters());
        fmt::print("weights saved to {}\n", o.save);
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return run(argc, argv);
    } catch (const nnjit::UserError& e) {
        fmt::print(stderr, "error: {}\n", e.what());
        return 1;
    }
}
