// The `halide` peer: each workload as a Halide pipeline, JIT-compiled once for the host (on
// first use, outside the timing) and realized into the buffers. Schedule: the obvious one,
// vectorised by 16 lanes; a forward+backward computes y and gx in one fused loop
// (gx.compute_with(y)). Math: Halide's own exp and tanh.
#include <Halide.h>

#include <memory>

#include "../hand_kernels.hpp"
#include "peers.hpp"

namespace nnjit::bench {
namespace {

namespace hl = Halide;

// A workload's pipeline: inputs x (and gy), outputs y (and gx), compiled on first use.
struct Pipeline {
    hl::ImageParam x{hl::Float(32), 1, "x"};
    hl::ImageParam gy{hl::Float(32), 1, "gy"};
    hl::Pipeline pipeline;
};

using Define = void (*)(Pipeline&, hl::Var, hl::Func& y, hl::Func& gx);  // gx left undefined: forward only

hl::Expr sigmoid(const hl::Expr& v) { return 1.0f / (1.0f + hl::exp(-v)); }

std::shared_ptr<Pipeline> build(Define define) {
    auto p = std::make_shared<Pipeline>();
    hl::Var i("i");
    hl::Func y("y"), gx("gx");
    define(*p, i, y, gx);
    y.vectorize(i, 16);
    if (gx.defined()) {
        gx.vectorize(i, 16);
        gx.compute_with(y, i);
        p->pipeline = hl::Pipeline({y, gx});
    } else {
        p->pipeline = hl::Pipeline(y);
    }
    p->pipeline.compile_jit(hl::get_jit_target_from_environment());
    return p;
}

Prepare prepare(Define define) {
    auto compiled = std::make_shared<std::shared_ptr<Pipeline>>();  // shared by every size
    return [define, compiled](Buffers& b) -> Run {
        if (!*compiled) *compiled = build(define);
        std::shared_ptr<Pipeline> p = *compiled;
        const int n = static_cast<int>(b.n);
        hl::Buffer<float> x(b.x.data<float>(), n), y(b.y.data<float>(), n);
        if (b.gx.numel() != b.n) {
            return [p, x, y]() mutable {
                p->x.set(x);
                p->pipeline.realize(y);
            };
        }
        hl::Buffer<float> gy(b.gy.data<float>(), n), gx(b.gx.data<float>(), n);
        return [p, x, y, gy, gx]() mutable {
            p->x.set(x);
            p->gy.set(gy);
            p->pipeline.realize(hl::Realization({y, gx}));
        };
    };
}

}  // namespace

NativeEngine halide_engine() {
    return {"halide",
            {
                {"relu_fwd", prepare([](Pipeline& p, hl::Var i, hl::Func& y, hl::Func&) { y(i) = hl::max(p.x(i), 0.0f); })},
                {"relu_fwd_bwd", prepare([](Pipeline& p, hl::Var i, hl::Func& y, hl::Func& gx) {
                     y(i) = hl::max(p.x(i), 0.0f);
                     gx(i) = hl::select(p.x(i) > 0.0f, p.gy(i), 0.0f);
                 })},
                {"sigmoid_fwd", prepare([](Pipeline& p, hl::Var i, hl::Func& y, hl::Func&) { y(i) = sigmoid(p.x(i)); })},
                {"sigmoid_fwd_bwd", prepare([](Pipeline& p, hl::Var i, hl::Func& y, hl::Func& gx) {
                     const hl::Expr s = sigmoid(p.x(i));
                     y(i) = s;
                     gx(i) = p.gy(i) * s * (1.0f - s);
                 })},
                {"tanh_fwd", prepare([](Pipeline& p, hl::Var i, hl::Func& y, hl::Func&) { y(i) = hl::tanh(p.x(i)); })},
                {"tanh_fwd_bwd", prepare([](Pipeline& p, hl::Var i, hl::Func& y, hl::Func& gx) {
                     const hl::Expr t = hl::tanh(p.x(i));
                     y(i) = t;
                     gx(i) = p.gy(i) * (1.0f - t * t);
                 })},
                {"leaky_relu_fwd_bwd", prepare([](Pipeline& p, hl::Var i, hl::Func& y, hl::Func& gx) {
                     y(i) = hl::select(p.x(i) > 0.0f, p.x(i), kLeakyAlpha * p.x(i));
                     gx(i) = hl::select(p.x(i) > 0.0f, p.gy(i), kLeakyAlpha * p.gy(i));
                 })},
                {"chain_fwd", prepare([](Pipeline& p, hl::Var i, hl::Func& y, hl::Func&) {
                     y(i) = sigmoid(kChainA * p.x(i) + kChainB) * hl::max(p.x(i), 0.0f);
                 })},
                {"chain_fwd_bwd", prepare([](Pipeline& p, hl::Var i, hl::Func& y, hl::Func& gx) {
                     const hl::Expr s = sigmoid(kChainA * p.x(i) + kChainB);
                     const hl::Expr r = hl::max(p.x(i), 0.0f);
                     y(i) = s * r;
                     gx(i) = p.gy(i) * (kChainA * s * (1.0f - s) * r + hl::select(p.x(i) > 0.0f, s, 0.0f));
                 })},
            }};
}

}  // namespace nnjit::bench
