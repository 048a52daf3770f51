#include "torch_peer.hpp"

#include <torch/torch.h>

namespace nnjit::bench {

struct TorchMlp::Impl {
    torch::nn::Sequential net;
    std::unique_ptr<torch::optim::Optimizer> optimizer;
    torch::Tensor x, target;  // the training batch
    torch::Tensor sample;     // inference input
    bool binary = false;
};

TorchMlp::TorchMlp(const std::vector<std::int64_t>& sizes, std::int64_t batch, std::uint64_t seed, bool adam)
    : impl_(std::make_unique<Impl>()) {
    torch::set_num_threads(1);
    torch::manual_seed(seed);
    Impl& im = *impl_;
    for (std::size_t i = 0; i + 1 < sizes.size(); ++i) {
        im.net->push_back(torch::nn::Linear(sizes[i], sizes[i + 1]));
        if (i + 2 < sizes.size()) im.net->push_back(torch::nn::ReLU());
    }
    if (adam) im.optimizer = std::make_unique<torch::optim::Adam>(im.net->parameters(), torch::optim::AdamOptions(1e-3));
    else im.optimizer = std::make_unique<torch::optim::SGD>(im.net->parameters(), torch::optim::SGDOptions(1e-2));
    im.x = torch::randn({batch, sizes.front()});
    im.binary = sizes.back() == 1;
    im.target = im.binary ? torch::randint(0, 2, {batch, 1}).to(torch::kFloat)
                          : torch::randint(0, sizes.back(), {batch}, torch::kLong);
    im.sample = torch::randn({batch, sizes.front()});
}

TorchMlp::~TorchMlp() = default;

double TorchMlp::train_step() {
    Impl& im = *impl_;
    im.optimizer->zero_grad();
    const torch::Tensor out = im.net->forward(im.x);
    const torch::Tensor loss = im.binary ? torch::binary_cross_entropy_with_logits(out, im.target)
                                         : torch::nn::functional::cross_entropy(out, im.target);
    loss.backward();
    im.optimizer->step();
    return loss.item<double>();
}

void TorchMlp::infer(std::int64_t rows) {
    Impl& im = *impl_;
    torch::InferenceMode guard;
    const torch::Tensor out = im.net->forward(im.sample.narrow(0, 0, rows));
    (void)out.data_ptr<float>();
}

}  // namespace nnjit::bench
