#include "nnjit/program.hpp"

#include <algorithm>
#include <cstring>

#include "nnjit/error.hpp"

namespace nnjit {
namespace {

bool is_placeholder(const Node& n) { return n.op() == Op::Input || n.op() == Op::Parameter; }

bool fits(const Node& placeholder, const Tensor* t) {
    return t != nullptr && t->dtype() == placeholder.dtype() && t->shape() == placeholder.shape();
}

// The error for `t` bound to `placeholder` when it does not fit. Out of line: the checks of
// a call that fits are a few compares per tensor (a small network's inference runs in a few
// hundred nanoseconds, checks included).
[[noreturn, gnu::noinline, gnu::cold]] void throw_bound_error(const Node& placeholder, const Tensor* t) {
    const std::string& name = placeholder.attrs().name;
    if (t == nullptr) throw UserError(fmt::format("no tensor is bound to {} '{}'", op_name(placeholder.op()), name));
    throw UserError(fmt::format("{} '{}' expects {} {}, got {} {}", op_name(placeholder.op()), name, placeholder.dtype(),
                                placeholder.shape(), t->dtype(), t->shape()));
}

// Nothing when `t` fits `placeholder`, else the error bound_tensor gives.
void check_bound(const Node& placeholder, const Tensor* t) {
    if (!fits(placeholder, t)) throw_bound_error(placeholder, t);
}

}  // namespace

const Tensor& bound_tensor(const Node& placeholder, const Bindings& bindings) {
    auto it = bindings.find(placeholder.attrs().name);
    const Tensor* t = it == bindings.end() ? nullptr : &it->second;
    check_bound(placeholder, t);
    return *t;
}

Program::Program(std::span<const Value> outputs) {
    const std::vector<const Node*> order = reachable_nodes(outputs);
    for (const Node* n : order)
        if (is_placeholder(*n)) placeholders_.push_back(n);
    std::vector<const Node*> graph_order = placeholders_;
    std::sort(placeholders_.begin(), placeholders_.end(),
              [](const Node* a, const Node* b) { return a->attrs().name < b->attrs().name; });
    for (const Node* n : placeholders_) input_names_.push_back(n->attrs().name);
    for (const Node* n : graph_order)
        check_order_.push_back(static_cast<std::size_t>(std::find(placeholders_.begin(), placeholders_.end(), n) -
                                                        placeholders_.begin()));
    for (const Value& v : outputs) output_nodes_.push_back(v.node());
}

void Program::find_inputs(const Bindings& bindings, std::span<const Tensor*> inputs) const {
    auto it = bindings.begin();
    for (std::size_t i = 0; i < placeholders_.size(); ++i) {
        const std::string& name = input_names_[i];
        while (it != bindings.end() && it->first < name) ++it;
        inputs[i] = it != bindings.end() && it->first == name ? &it->second : nullptr;
    }
    check_inputs(inputs);
}

void Program::check_inputs(std::span<const Tensor* const> inputs) const {
    if (inputs.size() != placeholders_.size())
        throw UserError(fmt::format("run_into: {} input tensors given, the program reads {} ({})", inputs.size(),
                                    placeholders_.size(), fmt::join(input_names_, ", ")));
    for (std::size_t i : check_order_) check_bound(*placeholders_[i], inputs[i]);
}

void Program::check_outputs(std::span<const Tensor> outputs) const {
    if (outputs.size() != output_nodes_.size())
        throw UserError(fmt::format("run_into: {} output tensors given, the program has {}", outputs.size(),
                                    output_nodes_.size()));
    for (std::size_t k = 0; k < outputs.size(); ++k) {
        const Node& n = *output_nodes_[k];
        if (outputs[k].dtype() != n.dtype() || outputs[k].shape() != n.shape() || !outputs[k].is_contiguous())
            throw UserError(fmt::format("run_into: output {} must be a contiguous {} {}, got {} {}", k, n.dtype(),
                                        n.shape(), outputs[k].dtype(), outputs[k].shape()));
    }
}

void Program::run_into(const Bindings& bindings, std::span<Tensor> outputs) const {
    check_outputs(outputs);
    auto results = run(bindings);
    for (std::size_t i = 0; i < results.size(); ++i)
        std::memcpy(outputs[i].raw_data(), results[i].raw_data(),
                    static_cast<std::size_t>(outputs[i].numel()) * dtype_size(outputs[i].dtype()));
}

void Program::run_into(std::span<const Tensor* const> inputs, std::span<Tensor> outputs) const {
    check_inputs(inputs);
    Bindings bindings;
    for (std::size_t i = 0; i < inputs.size(); ++i) bindings.emplace(input_names_[i], *inputs[i]);
    run_into(bindings, outputs);
}

}  // namespace nnjit
