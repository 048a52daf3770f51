// An inference-only plan: the network's forward pass compiled once per batch size (a full
// batch and, when the sample count is not a multiple of it, the remainder) and run on any
// number of samples with the parameters given.
#pragma once

#include <cstdint>
#include <map>
#include <memory>

#include "nnjit/engine.hpp"
#include "nnjit/nn/parameters.hpp"
#include "nnjit/nn/sequential.hpp"

namespace nnjit::nn {

class Predictor {
public:
    Predictor(Sequential model, Backend backend = Backend::interp, DType dtype = DType::f32,
              std::int64_t batch_size = 256);
    ~Predictor();
    Predictor(Predictor&&) noexcept;
    Predictor& operator=(Predictor&&) noexcept;

    // x: (n, input_size) of the predictor's dtype. Returns (n, output_size).
    Tensor predict(const Tensor& x, const Parameters& params) const;

    const Sequential& model() const { return model_; }

private:
    struct Plan;
    const Plan& plan(std::int64_t rows) const;

    Sequential model_;
    Backend backend_;
    DType dtype_;
    std::int64_t batch_size_;
    mutable std::map<std::int64_t, std::unique_ptr<Plan>> plans_;  // by rows
};

}  // namespace nnjit::nn
