// The `onednn` peer: oneDNN's eltwise primitives, forward and backward, created once per size
// (outside the timing) and executed on the buffers. Sigmoid and tanh use the *_use_dst_for_bwd
// algorithms, whose backward reads y, as a framework does.
//
// chain_fwd is composed as a oneDNN user would: linear (a*x+b), logistic in place, relu(x),
// and a binary multiply. (A logistic post-op on the linear would save a pass, but oneDNN 2.6
// runs that combination on its reference implementation, and it returned zeros here.) chain_fwd_bwd is left out: oneDNN has no autodiff,
// and its derivative would be a hand-written graph of six primitives, not oneDNN's own work.
#include <oneapi/dnnl/dnnl.hpp>

#include <memory>
#include <vector>

#include "../hand_kernels.hpp"
#include "peers.hpp"

namespace nnjit::bench {
namespace {

using namespace dnnl;

// One engine and stream for all primitives: oneDNN's CPU engine is cheap and thread-safe.
struct Context {
    engine eng{engine::kind::cpu, 0};
    stream strm{eng};
};

Context& context() {
    static Context ctx;
    return ctx;
}

memory::desc desc_of(std::int64_t n) { return {{n}, memory::data_type::f32, memory::format_tag::a}; }

memory wrap(const Tensor& t, std::int64_t n) {
    return memory(desc_of(n), context().eng, const_cast<float*>(t.data<float>()));
}

// An activation forward, and its backward when `backward`: `use_dst` says whether the
// backward primitive reads y (DNNL_ARG_DST) or x (DNNL_ARG_SRC).
Prepare activation(algorithm alg, float alpha, bool backward, bool use_dst) {
    return [=](Buffers& b) -> Run {
        Context& ctx = context();
        const memory::desc md = desc_of(b.n);
        const auto fwd_pd = eltwise_forward::primitive_desc(
            eltwise_forward::desc(backward ? prop_kind::forward_training : prop_kind::forward_inference, alg, md, alpha),
            ctx.eng);
        auto fwd = std::make_shared<eltwise_forward>(fwd_pd);
        memory x = wrap(b.x, b.n), y = wrap(b.y, b.n);
        if (!backward) {
            return [fwd, x, y, &ctx] {
                fwd->execute(ctx.strm, {{DNNL_ARG_SRC, x}, {DNNL_ARG_DST, y}});
                ctx.strm.wait();
            };
        }
        const auto bwd_pd =
            eltwise_backward::primitive_desc(eltwise_backward::desc(alg, md, md, alpha), ctx.eng, fwd_pd);
        auto bwd = std::make_shared<eltwise_backward>(bwd_pd);
        memory gy = wrap(b.gy, b.n), gx = wrap(b.gx, b.n);
        return [fwd, bwd, x, y, gy, gx, use_dst, &ctx] {
            fwd->execute(ctx.strm, {{DNNL_ARG_SRC, x}, {DNNL_ARG_DST, y}});
            bwd->execute(ctx.strm,
                         {{use_dst ? DNNL_ARG_DST : DNNL_ARG_SRC, use_dst ? y : x}, {DNNL_ARG_DIFF_DST, gy}, {DNNL_ARG_DIFF_SRC, gx}});
            ctx.strm.wait();
        };
    };
}

Prepare chain_forward() {
    return [](Buffers& b) -> Run {
        Context& ctx = context();
        const memory::desc md = desc_of(b.n);
        const auto eltwise = [&](algorithm alg, float alpha, float beta) {
            return std::make_shared<eltwise_forward>(eltwise_forward::primitive_desc(
                eltwise_forward::desc(prop_kind::forward_inference, alg, md, alpha, beta), ctx.eng));
        };
        auto linear = eltwise(algorithm::eltwise_linear, kChainA, kChainB);
        auto logistic = eltwise(algorithm::eltwise_logistic, 0.0f, 0.0f);
        auto relu = eltwise(algorithm::eltwise_relu, 0.0f, 0.0f);
        auto mul = std::make_shared<binary>(binary::primitive_desc(binary::desc(algorithm::binary_mul, md, md, md), ctx.eng));
        // The two intermediates a composition of primitives must materialise.
        auto s = std::make_shared<memory>(md, ctx.eng), r = std::make_shared<memory>(md, ctx.eng);
        memory x = wrap(b.x, b.n), y = wrap(b.y, b.n);
        return [=, &ctx] {
            linear->execute(ctx.strm, {{DNNL_ARG_SRC, x}, {DNNL_ARG_DST, *s}});
            logistic->execute(ctx.strm, {{DNNL_ARG_SRC, *s}, {DNNL_ARG_DST, *s}});  // in place
            relu->execute(ctx.strm, {{DNNL_ARG_SRC, x}, {DNNL_ARG_DST, *r}});
            mul->execute(ctx.strm, {{DNNL_ARG_SRC_0, *s}, {DNNL_ARG_SRC_1, *r}, {DNNL_ARG_DST, y}});
            ctx.strm.wait();
        };
    };
}

}  // namespace

NativeEngine onednn_engine() {
    return {"onednn",
            {
                {"relu_fwd", activation(algorithm::eltwise_relu, 0.0f, false, false)},
                {"relu_fwd_bwd", activation(algorithm::eltwise_relu, 0.0f, true, false)},
                {"sigmoid_fwd", activation(algorithm::eltwise_logistic_use_dst_for_bwd, 0.0f, false, true)},
                {"sigmoid_fwd_bwd", activation(algorithm::eltwise_logistic_use_dst_for_bwd, 0.0f, true, true)},
                {"tanh_fwd", activation(algorithm::eltwise_tanh_use_dst_for_bwd, 0.0f, false, true)},
                {"tanh_fwd_bwd", activation(algorithm::eltwise_tanh_use_dst_for_bwd, 0.0f, true, true)},
                {"leaky_relu_fwd_bwd", activation(algorithm::eltwise_relu, kLeakyAlpha, true, false)},
                {"chain_fwd", chain_forward()},
            }};
}

}  // namespace nnjit::bench
