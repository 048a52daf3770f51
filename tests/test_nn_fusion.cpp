// How the JIT cuts a dense network's training step around its matrix products: what the
// forward pass stores for the backward pass, per activation, and that the backward pass's
// activation derivative and bias gradient are one loop.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <string>

#include "../jit/fusion.hpp"
#include "nnjit/autodiff.hpp"
#include "nnjit/graph_ops.hpp"
#include "nnjit/nn.hpp"

using namespace nnjit;

namespace {

struct Step {
    Graph g;
    std::vector<Value> outputs;  // loss, then the gradient of every parameter
};

// A 2-layer network's loss and gradients: x (32, 24) -> 48 `act` -> 5, softmax cross-entropy.
void build_step(Step& s, const nn::Activation& act) {
    const auto net = nn::mlp({24, 48, 5}, act);
    const Value x = s.g.input("x", DType::f32, Shape{32, 24});
    const Value loss = nn::softmax_cross_entropy(net.forward(x), s.g.input("target", DType::f32, Shape{32, 5}));
    std::vector<Value> params;
    for (const auto& spec : net.parameter_specs()) params.push_back(s.g.parameter(spec.name, DType::f32, spec.shape));
    s.outputs = {loss};
    for (const Value& gr : grad(loss, params)) s.outputs.push_back(gr);
}

// The kernel that computes the hidden activation `op`, and what it writes.
const jit::FusedKernel& activation_kernel(const jit::Plan& plan, Op op) {
    for (const jit::FusedKernel& k : plan.kernels)
        for (const Node* n : k.members)
            if (n->op() == op) return k;
    FAIL("no kernel computes " << op_name(op));
    throw;
}

}  // namespace

TEST_CASE("nn fusion: a hidden layer's forward kernel stores only its output for ReLU, sigmoid and tanh",
          "[nn][jit][fusion]") {
    const std::pair<nn::Activation, Op> cases[] = {{nn::Activation::relu(), Op::Relu},
                                                   {nn::Activation::sigmoid(), Op::Sigmoid},
                                                   {nn::Activation::tanh(), Op::Tanh}};
    for (const auto& [act, op] : cases) {
        INFO("activation " << act.name());
        Step s;
        build_step(s, act);
        const jit::Plan plan = jit::fuse(s.outputs);
        const jit::FusedKernel& k = activation_kernel(plan, op);
        // The activation's output is the one tensor the layer writes: the next matmul and the
        // next layer's weight gradient read it, and the backward pass derives the
        // activation's derivative from it (ReLU: y > 0; sigmoid: y (1 - y); tanh: 1 - y^2).
        REQUIRE(k.stored.size() == 1);
        CHECK(k.stored[0]->op() == op);
    }
}

TEST_CASE("nn fusion: dZ = dY * act'(y) and the bias gradient are one loop", "[nn][jit][fusion]") {
    Step s;
    build_step(s, nn::Activation::relu());
    const jit::Plan plan = jit::fuse(s.outputs);
    // The hidden layer's bias gradient is a reduction over the batch of the kernel that
    // computes dZ from the mask, dY (a matmul's output) and the stored y.
    bool found = false;
    for (const jit::FusedKernel& k : plan.kernels) {
        bool has_where = false, has_greater = false;
        for (const Node* n : k.members) {
            has_where = has_where || n->op() == Op::Where;
            has_greater = has_greater || n->op() == Op::Greater;
        }
        if (!has_where) continue;
        found = true;
        CHECK(has_greater);  // the mask is computed here, not stored by the forward pass
        REQUIRE(k.reduced.size() == 1);
        CHECK(k.reduced[0]->op() == Op::Sum);
        CHECK(k.reduced[0]->attrs().axes == std::vector<std::int64_t>{0});
    }
    CHECK(found);
}

TEST_CASE("nn fusion: the JIT's step with recomputed masks agrees with the interpreter",
          "[nn][jit][fusion]") {
    for (const auto& act : {nn::Activation::relu(), nn::Activation::sigmoid(), nn::Activation::tanh()}) {
        INFO("activation " << act.name());
        Step s;
        build_step(s, act);
        Bindings b{{"x", Tensor::randn(DType::f32, Shape{32, 24}, 1)},
                   {"target", nn::one_hot(Tensor::from<float>(Shape{32}, std::vector<float>(32, 2.0f)), 5)}};
        const auto net = nn::mlp({24, 48, 5}, act);
        const nn::Parameters params = net.init(DType::f32, 2);
        for (const auto& e : params.entries()) b.emplace(e.name, e.value);
        const auto jit_out = compile(s.outputs, Backend::jit)->run(b);
        const auto interp_out = compile(s.outputs, Backend::interp)->run(b);
        // Sums over the batch may be added in another order: relative 1e-5.
        REQUIRE(jit_out.size() == interp_out.size());
        for (std::size_t i = 0; i < jit_out.size(); ++i) {
            double worst = 0, scale = 0;
            for (std::int64_t j = 0; j < jit_out[i].numel(); ++j) {
                worst = std::max(worst, std::abs(jit_out[i].flat(j) - interp_out[i].flat(j)));
                scale = std::max(scale, std::abs(interp_out[i].flat(j)));
            }
            CHECK(worst <= 1e-5 * std::max(scale, 1.0));
        }
    }
}
