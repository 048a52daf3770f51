// The `eigen` peer: each workload as Eigen 3 array expressions over the buffers, as an Eigen
// user writes it. One assignment is one loop, so a forward+backward is two loops: y first,
// then gx from y (sigmoid, tanh) or from x.
#include <Eigen/Core>

#include "../hand_kernels.hpp"
#include "peers.hpp"

namespace nnjit::bench {
namespace {

using Array = Eigen::Map<Eigen::ArrayXf>;
using ConstArray = Eigen::Map<const Eigen::ArrayXf>;

struct Maps {
    ConstArray x, gy;
    Array y, gx;
    explicit Maps(Buffers& b)
        : x(b.x.data<float>(), b.n),
          gy(b.gy.data<float>(), b.gy.numel()),
          y(b.y.data<float>(), b.n),
          gx(b.gx.data<float>(), b.gx.numel()) {}
};

// body(maps) is the timed call.
template <class Body> Prepare prepare(Body body) {
    return [body](Buffers& b) -> Run { return [body, m = Maps(b)]() mutable { body(m); }; };
}

}  // namespace

NativeEngine eigen_engine() {
    const auto sigmoid = [](const auto& v) { return 1.0f / (1.0f + (-v).exp()); };
    return {"eigen",
            {
                {"relu_fwd", prepare([](Maps& m) { m.y = m.x.max(0.0f); })},
                {"relu_fwd_bwd", prepare([](Maps& m) {
                     m.y = m.x.max(0.0f);
                     m.gx = (m.x > 0.0f).select(m.gy, 0.0f);
                 })},
                {"sigmoid_fwd", prepare([=](Maps& m) { m.y = sigmoid(m.x); })},
                {"sigmoid_fwd_bwd", prepare([=](Maps& m) {
                     m.y = sigmoid(m.x);
                     m.gx = m.gy * m.y * (1.0f - m.y);
                 })},
                {"tanh_fwd", prepare([](Maps& m) { m.y = m.x.tanh(); })},
                {"tanh_fwd_bwd", prepare([](Maps& m) {
                     m.y = m.x.tanh();
                     m.gx = m.gy * (1.0f - m.y.square());
                 })},
                {"leaky_relu_fwd_bwd", prepare([](Maps& m) {
                     m.y = (m.x > 0.0f).select(m.x, kLeakyAlpha * m.x);
                     m.gx = (m.x > 0.0f).select(m.gy, kLeakyAlpha * m.gy);
                 })},
                {"chain_fwd", prepare([=](Maps& m) { m.y = sigmoid(kChainA * m.x + kChainB) * m.x.max(0.0f); })},
                // One loop per output: s is recomputed for gx rather than stored.
                {"chain_fwd_bwd", prepare([=](Maps& m) {
                     m.y = sigmoid(kChainA * m.x + kChainB) * m.x.max(0.0f);
                     const auto s = sigmoid(kChainA * m.x + kChainB);
                     m.gx = m.gy * (kChainA * s * (1.0f - s) * m.x.max(0.0f) + (m.x > 0.0f).select(s, 0.0f));
                 })},
            }};
}

}  // namespace nnjit::bench
