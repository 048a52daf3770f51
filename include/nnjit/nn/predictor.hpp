// An inference-only plan: the network's forward pass compiled once per batch size (a full
// batch and, when the sample count is not a multiple of it, the remainder) and run on any
// number of samples with the parameters given. One Predictor may predict from any number of
// threads at once (a plan is made once per batch size, under a lock; running it needs none).
#pragma once

#include <cstdint>
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
    // As predict, writing into `out`: a contiguous (n, output_size) tensor of the predictor's
    // dtype (else a UserError), which may be reused from call to call: then a prediction of
    // at most batch_size contiguous rows allocates nothing.
    void predict_into(const Tensor& x, const Parameters& params, Tensor& out) const;

    const Sequential& model() const { return model_; }

private:
    struct Plan;
    struct Plans;
    const Plan& plan(std::int64_t rows) const;
    // A UserError unless x is (n, input_size) of the predictor's dtype.
    void check_input(const Tensor& x) const;
    // Predicts x (checked) into result (contiguous, of the right shape).
    void run(const Tensor& x, const Parameters& params, Tensor& result) const;

    Sequential model_;
    Backend backend_;
    DType dtype_;
    std::int64_t batch_size_;
    std::unique_ptr<Plans> plans_;  // made on first use, by rows
};

}  // namespace nnjit::nn
