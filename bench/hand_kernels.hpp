// The `hand` engine: what a competent engineer writes without a JIT — one fused loop per
// workload, compiled with -O3 -march=native -ffast-math so that glibc's vector expf/tanhf are
// used — and the STREAM-like loops that measure the memory limit in the same binary.
#pragma once

#include <cstdint>

namespace nnjit::bench {

// The chain workload: y = sigmoid(a*x + b) * relu(x).
inline constexpr float kChainA = 2.0f;
inline constexpr float kChainB = 0.5f;
inline constexpr float kLeakyAlpha = 0.01f;

void hand_relu_fwd(const float* x, float* y, std::int64_t n);
void hand_relu_fwd_bwd(const float* x, const float* gy, float* y, float* gx, std::int64_t n);
void hand_sigmoid_fwd(const float* x, float* y, std::int64_t n);
void hand_sigmoid_fwd_bwd(const float* x, const float* gy, float* y, float* gx, std::int64_t n);
void hand_tanh_fwd(const float* x, float* y, std::int64_t n);
void hand_tanh_fwd_bwd(const float* x, const float* gy, float* y, float* gx, std::int64_t n);
void hand_leaky_relu_fwd_bwd(const float* x, const float* gy, float* y, float* gx, std::int64_t n);
void hand_chain_fwd(const float* x, float* y, std::int64_t n);
void hand_chain_fwd_bwd(const float* x, const float* gy, float* y, float* gx, std::int64_t n);

void stream_copy(const float* x, float* y, std::int64_t n);
void stream_triad(const float* b, const float* c, float* a, std::int64_t n);  // a = b + 3c
void stream_2r2w(const float* x, const float* g, float* y, float* h, std::int64_t n);

}  // namespace nnjit::bench
