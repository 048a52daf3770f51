#include "nnjit/nn/predictor.hpp"

#include <algorithm>
#include <cstring>

#include "nnjit/error.hpp"
#include "nnjit/graph.hpp"
#include "nnjit/nn/dataset.hpp"

namespace nnjit::nn {

struct Predictor::Plan {
    std::unique_ptr<Graph> graph = std::make_unique<Graph>();
    std::unique_ptr<Program> program;
};

Predictor::Predictor(Sequential model, Backend backend, DType dtype, std::int64_t batch_size)
    : model_(std::move(model)), backend_(backend), dtype_(dtype), batch_size_(batch_size) {
    if (batch_size <= 0) throw UserError(fmt::format("Predictor: the batch size must be positive, got {}", batch_size));
    model_.input_size();  // a network without layers is an error now, not at the first run
}

Predictor::~Predictor() = default;
Predictor::Predictor(Predictor&&) noexcept = default;
Predictor& Predictor::operator=(Predictor&&) noexcept = default;

const Predictor::Plan& Predictor::plan(std::int64_t rows) const {
    auto& slot = plans_[rows];
    if (!slot) {
        auto p = std::make_unique<Plan>();
        const Value x = p->graph->input("x", dtype_, Shape{rows, model_.input_size()});
        p->program = compile({model_.forward(x)}, backend_);
        slot = std::move(p);
    }
    return *slot;
}

Tensor Predictor::predict(const Tensor& x, const Parameters& params) const {
    const std::int64_t in = model_.input_size(), out = model_.output_size();
    if (x.rank() != 2 || x.shape()[1] != in || x.dtype() != dtype_)
        throw UserError(fmt::format("predict: expects {} (n, {}), got {} {}", dtype_, in, x.dtype(), x.shape()));
    const std::int64_t n = x.shape()[0];
    Tensor result = Tensor::empty(dtype_, Shape{n, out});
    Bindings bindings;
    for (const auto& e : params.entries()) bindings.emplace(e.name, e.value);
    const Tensor xc = x.contiguous();
    const std::size_t elem = dtype_size(dtype_);
    for (std::int64_t start = 0; start < n; start += batch_size_) {
        const std::int64_t rows = std::min(batch_size_, n - start);
        // Engines take contiguous tensors of the plan's shape: the rows are copied into one.
        Tensor batch = Tensor::empty(dtype_, Shape{rows, in});
        std::memcpy(batch.raw_data(), static_cast<const std::byte*>(xc.raw_data()) + static_cast<std::size_t>(start * in) * elem,
                    static_cast<std::size_t>(rows * in) * elem);
        bindings.insert_or_assign("x", batch);
        Tensor out_rows = Tensor::empty(dtype_, Shape{rows, out});
        std::span<Tensor> outs(&out_rows, 1);
        plan(rows).program->run_into(bindings, outs);
        std::memcpy(static_cast<std::byte*>(result.raw_data()) + static_cast<std::size_t>(start * out) * elem,
                    out_rows.raw_data(), static_cast<std::size_t>(rows * out) * elem);
    }
    return result;
}

}  // namespace nnjit::nn
