// Small networks learn problems a linear model cannot: XOR and two interleaved spirals, to
// zero training error, on both engines, from a fixed seed, in well under a second each.
#include <catch2/catch.hpp>

#include <cmath>
#include <numbers>

#include "nnjit/engine.hpp"
#include "nnjit/nn.hpp"

using namespace nnjit;

namespace {

// Two spirals of `per_class` points each, one the other turned by half a turn: point i of
// class c is at radius r = t / (3 pi) and angle t + c pi, t = pi/2 + 2.5 pi * i / per_class,
// plus seeded jitter of +-0.01. Labels 0 / 1, one column.
void two_spirals(std::int64_t per_class, std::uint64_t seed, Tensor& x, Tensor& y) {
    const std::int64_t n = 2 * per_class;
    const Tensor jitter = Tensor::rand(DType::f64, Shape{n, 2}, seed);
    x = Tensor::empty(DType::f32, Shape{n, 2});
    y = Tensor::empty(DType::f32, Shape{n, 1});
    constexpr double pi = std::numbers::pi;
    for (std::int64_t c = 0; c < 2; ++c)
        for (std::int64_t i = 0; i < per_class; ++i) {
            const std::int64_t row = c * per_class + i;
            const double t = pi / 2 + 2.5 * pi * static_cast<double>(i) / static_cast<double>(per_class);
            const double r = t / (3 * pi), angle = t + static_cast<double>(c) * pi;
            x.data<float>()[2 * row] = static_cast<float>(r * std::cos(angle) + 0.02 * (jitter.flat(2 * row) - 0.5));
            x.data<float>()[2 * row + 1] = static_cast<float>(r * std::sin(angle) + 0.02 * (jitter.flat(2 * row + 1) - 0.5));
            y.data<float>()[row] = static_cast<float>(c);
        }
}

// Full-batch training for at most `max_steps`; returns the steps taken to classify every
// sample right (checked every 25 steps), or -1.
int steps_to_zero_error(nn::Trainer& trainer, const Tensor& x, const Tensor& y, int max_steps) {
    for (int s = 1; s <= max_steps; ++s) {
        trainer.step(x, y);
        if (s % 25 == 0 && trainer.accuracy(x, y) == 1.0) return s;
    }
    return -1;
}

}  // namespace

TEST_CASE("learn: XOR to zero training error on both engines", "[train][learn]") {
    const Tensor x = Tensor::from<float>(Shape{4, 2}, {0, 0, 0, 1, 1, 0, 1, 1});
    const Tensor y = Tensor::from<float>(Shape{4, 1}, {0, 1, 1, 0});
    for (Backend backend : {Backend::interp, Backend::jit}) {
        INFO("engine " << backend_name(backend));
        nn::Trainer trainer(nn::mlp({2, 8, 1}, nn::Activation::relu()), nn::Loss::binary_cross_entropy,
                            nn::Adam(0.05), {.backend = backend, .batch_size = 4, .seed = 3});
        CHECK(trainer.accuracy(x, y) < 1.0);  // not solved by the initial weights
        const int steps = steps_to_zero_error(trainer, x, y, 1000);
        INFO("steps " << steps);
        CHECK(steps > 0);
    }
}

TEST_CASE("learn: two spirals to zero training error on both engines", "[train][learn]") {
    Tensor x, y;
    two_spirals(96, 5, x, y);
    for (Backend backend : {Backend::interp, Backend::jit}) {
        INFO("engine " << backend_name(backend));
        nn::Trainer trainer(nn::mlp({2, 32, 32, 1}, nn::Activation::tanh()), nn::Loss::binary_cross_entropy,
                            nn::Adam(0.02), {.backend = backend, .batch_size = x.shape()[0], .seed = 1});
        CHECK(trainer.accuracy(x, y) < 0.75);  // a linear boundary gets about half
        const int steps = steps_to_zero_error(trainer, x, y, 4000);
        INFO("steps " << steps);
        CHECK(steps > 0);
    }
}
