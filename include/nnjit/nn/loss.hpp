// Training losses, each a scalar mean over the batch, built from graph ops (so autodiff and
// every engine handle them like any other node).
#pragma once

#include <string_view>

#include "nnjit/graph.hpp"

namespace nnjit::nn {

enum class Loss {
    mse,                    // mean((y - target)^2)
    softmax_cross_entropy,  // logits (batch, classes), target one-hot or probabilities
    binary_cross_entropy,   // logits of any shape, target in [0, 1] of the same shape
};

std::string_view loss_name(Loss loss);

// mean over rows of -sum(target * log_softmax(logits)).
Value softmax_cross_entropy(Value logits, Value target);
// mean(softplus(x) - x * t): log(1 + exp(x)) never overflows, so no sigmoid is ever rounded
// to 0 or 1 and then logged.
Value binary_cross_entropy_with_logits(Value logits, Value target);

// The loss of `output` against `target`; shape mismatches are UserErrors naming the loss.
Value loss_value(Loss loss, Value output, Value target);

}  // namespace nnjit::nn
