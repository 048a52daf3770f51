// Compiled with -O3 -march=native -ffast-math (see bench/CMakeLists.txt).
#include "hand_kernels.hpp"

#include <cmath>

namespace nnjit::bench {
namespace {
inline float sigmoid(float v) { return 1.0f / (1.0f + std::exp(-v)); }
}  // namespace

void hand_relu_fwd(const float* __restrict x, float* __restrict y, std::int64_t n) {
    for (std::int64_t i = 0; i < n; ++i) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

void hand_relu_fwd_bwd(const float* __restrict x, const float* __restrict gy, float* __restrict y,
                       float* __restrict gx, std::int64_t n) {
    for (std::int64_t i = 0; i < n; ++i) {
        const bool on = x[i] > 0.0f;
        y[i] = on ? x[i] : 0.0f;
        gx[i] = on ? gy[i] : 0.0f;
    }
}

void hand_sigmoid_fwd(const float* __restrict x, float* __restrict y, std::int64_t n) {
    for (std::int64_t i = 0; i < n; ++i) y[i] = sigmoid(x[i]);
}

void hand_sigmoid_fwd_bwd(const float* __restrict x, const float* __restrict gy, float* __restrict y,
                          float* __restrict gx, std::int64_t n) {
    for (std::int64_t i = 0; i < n; ++i) {
        const float s = sigmoid(x[i]);
        y[i] = s;
        gx[i] = gy[i] * s * (1.0f - s);
    }
}

void hand_tanh_fwd(const float* __restrict x, float* __restrict y, std::int64_t n) {
    for (std::int64_t i = 0; i < n; ++i) y[i] = std::tanh(x[i]);
}

void hand_tanh_fwd_bwd(const float* __restrict x, const float* __restrict gy, float* __restrict y,
                       float* __restrict gx, std::int64_t n) {
    for (std::int64_t i = 0; i < n; ++i) {
        const float t = std::tanh(x[i]);
        y[i] = t;
        gx[i] = gy[i] * (1.0f - t * t);
    }
}

void hand_leaky_relu_fwd_bwd(const float* __restrict x, const float* __restrict gy, float* __restrict y,
                             float* __restrict gx, std::int64_t n) {
    for (std::int64_t i = 0; i < n; ++i) {
        const bool on = x[i] > 0.0f;
        y[i] = on ? x[i] : kLeakyAlpha * x[i];
        gx[i] = on ? gy[i] : kLeakyAlpha * gy[i];
    }
}

void hand_chain_fwd(const float* __restrict x, float* __restrict y, std::int64_t n) {
    for (std::int64_t i = 0; i < n; ++i) y[i] = sigmoid(kChainA * x[i] + kChainB) * (x[i] > 0.0f ? x[i] : 0.0f);
}

void hand_chain_fwd_bwd(const float* __restrict x, const float* __restrict gy, float* __restrict y,
                        float* __restrict gx, std::int64_t n) {
    for (std::int64_t i = 0; i < n; ++i) {
        const float s = sigmoid(kChainA * x[i] + kChainB);
        const bool on = x[i] > 0.0f;
        const float r = on ? x[i] : 0.0f;
        y[i] = s * r;
        // d/dx [s(ax+b) * relu(x)] = a s (1-s) relu(x) + s relu'(x)
        gx[i] = gy[i] * (kChainA * s * (1.0f - s) * r + (on ? s : 0.0f));
    }
}

void stream_copy(const float* __restrict x, float* __restrict y, std::int64_t n) {
    for (std::int64_t i = 0; i < n; ++i) y[i] = x[i];
}

void stream_triad(const float* __restrict b, const float* __restrict c, float* __restrict a, std::int64_t n) {
    for (std::int64_t i = 0; i < n; ++i) a[i] = b[i] + 3.0f * c[i];
}

void stream_2r2w(const float* __restrict x, const float* __restrict g, float* __restrict y, float* __restrict h,
                 std::int64_t n) {
    for (std::int64_t i = 0; i < n; ++i) {
        y[i] = x[i] + g[i];
        h[i] = x[i] * g[i];
    }
}

}  // namespace nnjit::bench
