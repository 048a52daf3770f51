// The libtorch peer of the MLP benchmarks: the same network, loss and optimizer in libtorch's
// C++ API (eager mode, as PyTorch users run it). Built only when CMake finds Debian's
// libtorch-dev; this header names no torch type, so only torch_peer.cpp pays for its headers.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

namespace nnjit::bench {

class TorchMlp {
public:
    // sizes = {in, hidden..., out}, ReLU between layers; softmax cross-entropy for several
    // outputs, binary cross-entropy from logits for one; Adam(lr 1e-3), or plain SGD(lr 1e-2).
    // One intra-op thread.
    TorchMlp(const std::vector<std::int64_t>& sizes, std::int64_t batch, std::uint64_t seed, bool adam);
    ~TorchMlp();

    // Forward, loss, backward, optimizer step on the fixed batch; returns the loss.
    double train_step();
    // The forward pass on `rows` fixed samples without autograd (torch::InferenceMode).
    void infer(std::int64_t rows);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace nnjit::bench
