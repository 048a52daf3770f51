#include "nnjit/nn/loss.hpp"

#include "nnjit/error.hpp"
#include "nnjit/graph_ops.hpp"

namespace nnjit::nn {

std::string_view loss_name(Loss loss) {
    switch (loss) {
    case Loss::mse: return "mse";
    case Loss::softmax_cross_entropy: return "softmax_cross_entropy";
    case Loss::binary_cross_entropy: return "binary_cross_entropy";
    }
    throw InternalError("a loss without a name");
}

Value softmax_cross_entropy(Value logits, Value target) { return cross_entropy(logits, target); }

Value binary_cross_entropy_with_logits(Value logits, Value target) {
    if (logits.shape() != target.shape())
        throw UserError(fmt::format("binary_cross_entropy: logits and target shapes differ: {} and {}", logits.shape(),
                                    target.shape()));
    return mean(softplus(logits) - logits * target);
}

Value loss_value(Loss loss, Value output, Value target) {
    switch (loss) {
    case Loss::mse: return mse(output, target);
    case Loss::softmax_cross_entropy: return softmax_cross_entropy(output, target);
    case Loss::binary_cross_entropy: return binary_cross_entropy_with_logits(output, target);
    }
    throw InternalError("a loss without a rule");
}

}  // namespace nnjit::nn
