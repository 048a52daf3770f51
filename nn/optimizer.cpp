#include "nnjit/nn/optimizer.hpp"

#include <cmath>

#include "nnjit/error.hpp"
#include "nnjit/graph_ops.hpp"

namespace nnjit::nn {

Sgd::Sgd(double lr, double momentum_) : momentum(momentum_) {
    learning_rate = lr;
    if (!(lr > 0)) throw UserError(fmt::format("sgd: the learning rate must be positive, got {}", lr));
    if (!(momentum_ >= 0 && momentum_ < 1)) throw UserError(fmt::format("sgd: momentum must be in [0, 1), got {}", momentum_));
}

std::vector<std::string> Sgd::slots() const {
    if (momentum == 0) return {};
    return {"velocity"};
}

std::vector<std::pair<std::string, double>> Sgd::scalars(std::int64_t) const { return {{"lr", learning_rate}}; }

std::vector<Value> Sgd::update(Value p, Value g, std::span<const Value> slots, const ScalarInput& scalar) const {
    const Value lr = scalar("lr");
    if (momentum == 0) return {p - lr * g};
    const Value v = momentum * slots[0] + g;
    return {p - lr * v, v};
}

Adam::Adam(double lr, double b1, double b2, double eps) : beta1(b1), beta2(b2), epsilon(eps) {
    learning_rate = lr;
    if (!(lr > 0)) throw UserError(fmt::format("adam: the learning rate must be positive, got {}", lr));
    if (!(b1 >= 0 && b1 < 1) || !(b2 >= 0 && b2 < 1))
        throw UserError(fmt::format("adam: betas must be in [0, 1), got {} and {}", b1, b2));
    if (!(eps > 0)) throw UserError(fmt::format("adam: epsilon must be positive, got {}", eps));
}

std::vector<std::string> Adam::slots() const { return {"m", "v"}; }

std::vector<std::pair<std::string, double>> Adam::scalars(std::int64_t step) const {
    // Bias corrections are computed here, in double, rather than as powers in the graph.
    const double t = static_cast<double>(step);
    return {{"lr", learning_rate},
            {"adam_c1", 1.0 / (1.0 - std::pow(beta1, t))},
            {"adam_c2", 1.0 / (1.0 - std::pow(beta2, t))}};
}

std::vector<Value> Adam::update(Value p, Value g, std::span<const Value> slots, const ScalarInput& scalar) const {
    const Value m = beta1 * slots[0] + (1 - beta1) * g;
    const Value v = beta2 * slots[1] + (1 - beta2) * (g * g);
    const Value m_hat = m * scalar("adam_c1");
    const Value v_hat = v * scalar("adam_c2");
    return {p - scalar("lr") * m_hat / (sqrt(v_hat) + epsilon), m, v};
}

}  // namespace nnjit::nn
