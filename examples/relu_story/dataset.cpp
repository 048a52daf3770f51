#include <cmath>

#include "nnjit/error.hpp"
#include "nnjit/idx.hpp"
#include "story.hpp"

namespace relu_story {
namespace {

using namespace nnjit;

Dataset generated(std::uint64_t seed) {
    constexpr std::int64_t n = 2048, features = 32, classes = 4;
    const Tensor x = Tensor::randn(DType::f32, Shape{n, features}, seed);
    const Tensor teacher = Tensor::randn(DType::f32, Shape{features, classes}, seed + 1);
    Tensor labels = Tensor::empty(DType::f32, Shape{n});
    for (std::int64_t r = 0; r < n; ++r) {
        std::int64_t best = 0;
        double best_score = -INFINITY;
        for (std::int64_t c = 0; c < classes; ++c) {
            double s = 0;
            for (std::int64_t f = 0; f < features; ++f)
                s += x.data<float>()[r * features + f] * teacher.data<float>()[f * classes + c];
            if (s > best_score) best_score = s, best = c;
        }
        labels.data<float>()[r] = static_cast<float>(best);
    }
    return {x, nn::one_hot(labels, classes), "generated (2048 x 32, 4 classes)"};
}

Dataset fashion(const Settings& s) {
    auto d = read_idx_dataset(s.data_dir + "/train-images-idx3-ubyte.gz", s.data_dir + "/train-labels-idx1-ubyte.gz");
    const std::int64_t n = std::min(s.samples, d.samples.shape()[0]);
    if (n <= 0) throw UserError(fmt::format("--samples must be positive, got {}", s.samples));
    const std::int64_t features = d.samples.numel() / d.samples.shape()[0];
    const float* src = d.samples.data<float>();
    double sum = 0, sum2 = 0;
    for (std::int64_t i = 0; i < n * features; ++i) sum += src[i] / 255.0, sum2 += (src[i] / 255.0) * (src[i] / 255.0);
    const double mean = sum / static_cast<double>(n * features);
    const double stddev = std::sqrt(sum2 / static_cast<double>(n * features) - mean * mean);
    Tensor x = Tensor::empty(DType::f32, Shape{n, features});
    for (std::int64_t i = 0; i < n * features; ++i) x.data<float>()[i] = static_cast<float>((src[i] / 255.0 - mean) / stddev);
    const Tensor labels = Tensor::from<float>(Shape{n}, std::span<const float>(d.labels.data<float>(), static_cast<std::size_t>(n)));
    return {x, nn::one_hot(labels, 10), fmt::format("Fashion-MNIST ({} training images)", n)};
}

}  // namespace

Dataset load_dataset(const Settings& settings) { return settings.fast ? generated(settings.seed) : fashion(settings); }

}  // namespace relu_story
