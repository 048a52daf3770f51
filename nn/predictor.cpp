#include "nnjit/nn/predictor.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>
#include <map>
#include <mutex>

#include "nnjit/error.hpp"
#include "nnjit/graph.hpp"
#include "nnjit/nn/dataset.hpp"
#include "nnjit/thread_policy.hpp"

namespace nnjit::nn {
namespace {

constexpr std::string_view kInputName = "x";

}  // namespace

struct Predictor::Plan {
    std::int64_t rows = 0;
    std::unique_ptr<Graph> graph = std::make_unique<Graph>();
    std::unique_ptr<Program> program;
    // Per input of the program (input_names() order): -1 for x, else the position of that
    // parameter in model.parameter_specs(), where it is in the Parameters model.init() makes.
    std::vector<int> spec_index;
};

// The plans made so far. A plan, once made, lives as long as the Predictor and is only read:
// `recent` finds the last one used without the lock (a warm single-sample prediction is a
// few hundred nanoseconds, an uncontended lock and unlock a tenth of that).
struct Predictor::Plans {
    std::mutex mutex;
    std::map<std::int64_t, std::unique_ptr<Plan>> by_rows;
    std::atomic<const Plan*> recent{nullptr};
};

Predictor::Predictor(Sequential model, Backend backend, DType dtype, std::int64_t batch_size)
    : model_(std::move(model)), backend_(backend), dtype_(dtype), batch_size_(batch_size),
      plans_(std::make_unique<Plans>()) {
    if (batch_size <= 0) throw UserError(fmt::format("Predictor: the batch size must be positive, got {}", batch_size));
    model_.input_size();  // a network without layers is an error now, not at the first run
}

Predictor::~Predictor() = default;
Predictor::Predictor(Predictor&&) noexcept = default;
Predictor& Predictor::operator=(Predictor&&) noexcept = default;

const Predictor::Plan& Predictor::plan(std::int64_t rows) const {
    if (const Plan* recent = plans_->recent.load(std::memory_order_acquire); recent && recent->rows == rows)
        return *recent;
    std::lock_guard lock(plans_->mutex);
    auto& slot = plans_->by_rows[rows];
    if (!slot) {
        auto p = std::make_unique<Plan>();
        p->rows = rows;
        const Value x = p->graph->input(kInputName, dtype_, Shape{rows, model_.input_size()});
        p->program = compile({model_.forward(x)}, backend_);
        const auto specs = model_.parameter_specs();
        for (const std::string& name : p->program->input_names()) {
            auto it = std::find_if(specs.begin(), specs.end(), [&](const ParameterSpec& s) { return s.name == name; });
            p->spec_index.push_back(it == specs.end() ? -1 : static_cast<int>(it - specs.begin()));
        }
        slot = std::move(p);
    }
    plans_->recent.store(slot.get(), std::memory_order_release);
    return *slot;
}

void Predictor::check_input(const Tensor& x) const {
    if (x.rank() != 2 || x.shape()[1] != model_.input_size() || x.dtype() != dtype_)
        throw UserError(fmt::format("predict: expects {} (n, {}), got {} {}", dtype_, model_.input_size(), x.dtype(), x.shape()));
}

Tensor Predictor::predict(const Tensor& x, const Parameters& params) const {
    check_input(x);
    Tensor result = Tensor::empty(dtype_, Shape{x.shape()[0], model_.output_size()});
    run(x, params, result);
    return result;
}

void Predictor::predict_into(const Tensor& x, const Parameters& params, Tensor& out) const {
    check_input(x);
    const std::int64_t n = x.shape()[0], outputs = model_.output_size();
    if (out.dtype() != dtype_ || out.rank() != 2 || out.shape()[0] != n || out.shape()[1] != outputs || !out.is_contiguous())
        throw UserError(fmt::format("predict_into: the output must be a contiguous {} ({}, {}), got {} {}{}", dtype_, n,
                                    outputs, out.dtype(), out.shape(), out.is_contiguous() ? "" : " (not contiguous)"));
    // The engines read their inputs while they write: the output must be memory of its own.
    bool shared = out.shares_storage_with(x);
    for (const auto& e : params.entries()) shared = shared || out.shares_storage_with(e.value);
    if (shared) throw UserError("predict_into: the output shares storage with x or a parameter");
    run(x, params, out);
}

void Predictor::run(const Tensor& x, const Parameters& params, Tensor& result) const {
    const std::int64_t in = model_.input_size(), out = model_.output_size();
    const std::int64_t n = x.shape()[0];
    if (n == 0) return;
    const auto entries = params.entries();
    // The parameter of that name, looked for where model.init() puts it first; null when
    // there is none (the program then names it in its error).
    auto parameter = [&](const std::string& name, int spec_index) -> const Tensor* {
        const auto i = static_cast<std::size_t>(spec_index);
        if (i < entries.size() && entries[i].name == name) return &entries[i].value;
        for (const auto& e : entries)
            if (e.name == name) return &e.value;
        return nullptr;
    };
    // Runs plan p on the batch xb (contiguous), writing y. The input pointers live on the
    // stack up to kInlineInputs of them: a small network's prediction is a few hundred
    // nanoseconds, and a heap allocation a tenth of that.
    auto run_plan = [&](const Plan& p, const Tensor& xb, Tensor& y) {
        constexpr std::size_t kInlineInputs = 16;
        const auto names = p.program->input_names();
        std::array<const Tensor*, kInlineInputs> on_stack{};
        std::vector<const Tensor*> on_heap(names.size() > kInlineInputs ? names.size() : 0);
        const std::span<const Tensor*> inputs =
            on_heap.empty() ? std::span<const Tensor*>(on_stack.data(), names.size()) : std::span<const Tensor*>(on_heap);
        for (std::size_t i = 0; i < names.size(); ++i)
            inputs[i] = p.spec_index[i] < 0 ? &xb : parameter(names[i], p.spec_index[i]);
        p.program->run_into(inputs, std::span<Tensor>(&y, 1));
    };
    if (n <= batch_size_ && x.is_contiguous()) {  // one batch: x and the result are bound as they are
        run_plan(plan(n), x, result);
        return;
    }
    const Tensor xc = x.contiguous();
    const std::size_t elem = dtype_size(dtype_);
    const ParallelCall batches;  // OpenMP's workers wait from batch to batch, released after the last
    for (std::int64_t start = 0; start < n; start += batch_size_) {
        const std::int64_t rows = std::min(batch_size_, n - start);
        // Engines take contiguous tensors of the plan's shape: the rows are copied into one.
        Tensor batch = Tensor::empty(dtype_, Shape{rows, in});
        std::memcpy(batch.raw_data(), static_cast<const std::byte*>(xc.raw_data()) + static_cast<std::size_t>(start * in) * elem,
                    static_cast<std::size_t>(rows * in) * elem);
        Tensor out_rows = Tensor::empty(dtype_, Shape{rows, out});
        run_plan(plan(rows), batch, out_rows);
        std::memcpy(static_cast<std::byte*>(result.raw_data()) + static_cast<std::size_t>(start * out) * elem,
                    out_rows.raw_data(), static_cast<std::size_t>(rows * out) * elem);
    }
}

}  // namespace nnjit::nn
