#include "workloads.hpp"

#include "hand_kernels.hpp"
#include "nnjit/graph_ops.hpp"

namespace nnjit::bench {

const std::vector<Workload>& elementwise_workloads() {
    static const std::vector<Workload> workloads = [] {
        auto chain = [](Value x) { return sigmoid(kChainA * x + kChainB) * relu(x); };
        auto leaky = [](Value x) { return leaky_relu(x, kLeakyAlpha); };
        return std::vector<Workload>{
            {"relu_fwd", false, [](Value x) { return relu(x); }, hand_relu_fwd, nullptr},
            {"relu_fwd_bwd", true, [](Value x) { return relu(x); }, nullptr, hand_relu_fwd_bwd},
            {"sigmoid_fwd", false, [](Value x) { return sigmoid(x); }, hand_sigmoid_fwd, nullptr},
            {"sigmoid_fwd_bwd", true, [](Value x) { return sigmoid(x); }, nullptr, hand_sigmoid_fwd_bwd},
            {"tanh_fwd", false, [](Value x) { return tanh(x); }, hand_tanh_fwd, nullptr},
            {"tanh_fwd_bwd", true, [](Value x) { return tanh(x); }, nullptr, hand_tanh_fwd_bwd},
            {"leaky_relu_fwd_bwd", true, leaky, nullptr, hand_leaky_relu_fwd_bwd},
            {"chain_fwd", false, chain, hand_chain_fwd, nullptr},
            {"chain_fwd_bwd", true, chain, nullptr, hand_chain_fwd_bwd},
        };
    }();
    return workloads;
}

}  // namespace nnjit::bench
