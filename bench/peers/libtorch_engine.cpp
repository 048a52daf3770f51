// The `libtorch` peer: the ATen kernels eager PyTorch runs for each workload (the ones autograd
// calls for the backward: threshold_backward, sigmoid_backward, ...), in their out= forms over
// the buffers, so nothing is allocated in the timed loop. One thread (at::set_num_threads(1)).
// The chain is a sequence of eager ops, each a pass over memory, with preallocated intermediates.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include "../hand_kernels.hpp"
#include "peers.hpp"

namespace nnjit::bench {
namespace {

struct Views {
    at::Tensor x, gy, y, gx;
    explicit Views(Buffers& b)
        : x(at::from_blob(b.x.data<float>(), {b.n}, at::kFloat)),
          gy(at::from_blob(b.gy.data<float>(), {b.gy.numel()}, at::kFloat)),
          y(at::from_blob(b.y.data<float>(), {b.n}, at::kFloat)),
          gx(at::from_blob(b.gx.data<float>(), {b.gx.numel()}, at::kFloat)) {}
};

template <class Body> Prepare prepare(Body body) {
    return [body](Buffers& b) -> Run { return [body, v = Views(b)]() mutable { body(v); }; };
}

// chain: s = sigmoid(a*x + b), r = relu(x), y = s * r; backward as autograd runs it.
Prepare chain(bool backward) {
    return [backward](Buffers& b) -> Run {
        Views v(b);
        at::Tensor s = at::empty({b.n}, at::kFloat), r = at::empty({b.n}, at::kFloat);
        at::Tensor g1 = backward ? at::empty({b.n}, at::kFloat) : at::Tensor();
        at::Tensor g2 = backward ? at::empty({b.n}, at::kFloat) : at::Tensor();
        return [=]() mutable {
            at::mul_out(s, v.x, kChainA);
            s.add_(kChainB);
            s.sigmoid_();
            at::clamp_min_out(r, v.x, 0.0f);
            at::mul_out(v.y, s, r);
            if (!backward) return;
            at::mul_out(g1, v.gy, r);                      // dL/ds
            at::sigmoid_backward_out(g1, g1, s);           // dL/d(a*x+b)
            at::mul_out(g2, v.gy, s);                      // dL/dr
            at::threshold_backward_out(g2, g2, v.x, 0.0f);  // through relu
            at::add_out(v.gx, g2, g1, kChainA);            // gx = g2 + a * g1
        };
    };
}

}  // namespace

NativeEngine libtorch_engine() {
    at::set_num_threads(1);
    return {"libtorch",
            {
                {"relu_fwd", prepare([](Views& v) { at::clamp_min_out(v.y, v.x, 0.0f); })},
                {"relu_fwd_bwd", prepare([](Views& v) {
                     at::clamp_min_out(v.y, v.x, 0.0f);
                     at::threshold_backward_out(v.gx, v.gy, v.x, 0.0f);
                 })},
                {"sigmoid_fwd", prepare([](Views& v) { at::sigmoid_out(v.y, v.x); })},
                {"sigmoid_fwd_bwd", prepare([](Views& v) {
                     at::sigmoid_out(v.y, v.x);
                     at::sigmoid_backward_out(v.gx, v.gy, v.y);
                 })},
                {"tanh_fwd", prepare([](Views& v) { at::tanh_out(v.y, v.x); })},
                {"tanh_fwd_bwd", prepare([](Views& v) {
                     at::tanh_out(v.y, v.x);
                     at::tanh_backward_out(v.gx, v.gy, v.y);
                 })},
                {"leaky_relu_fwd_bwd", prepare([](Views& v) {
                     at::leaky_relu_out(v.y, v.x, kLeakyAlpha);
                     at::leaky_relu_backward_out(v.gx, v.gy, v.x, kLeakyAlpha, false);
                 })},
                {"chain_fwd", chain(false)},
                {"chain_fwd_bwd", chain(true)},
            }};
}

}  // namespace nnjit::bench
