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

// The bytes [first, last) a tensor's elements lie in (strides are never negative).
std::pair<const std::byte*, const std::byte*> byte_range(const Tensor& t) {
    const auto* first = static_cast<const std::byte*>(t.raw_data());
    if (t.numel() == 0) return {first, first};
    std::int64_t last = 0;
    for (int d = 0; d < t.rank(); ++d) last += (t.shape()[d] - 1) * t.strides()[static_cast<std::size_t>(d)];
    return {first, first + (last + 1) * static_cast<std::int64_t>(dtype_size(t.dtype()))};
}

// Of two tensors on the same storage.
bool overlap(const Tensor& a, const Tensor& b) {
    const auto [a0, a1] = byte_range(a);
    const auto [b0, b1] = byte_range(b);
    return a0 < b1 && b0 < a1;
}

}  // namespace

const Tensor& bound_tensor(const Node& placeholder, const Bindings& bindings) {
    auto it = bindings.find(placeholder.attrs().name);
    const Tensor* t = it == bindings.end() ? nullptr : &it->second;
    check_bound(placeholder, t);
    return *t;
}

Program::Program(std::span<const Value> outputs, std::span<const InPlace> in_place) {
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
    in_place_.assign(outputs.size(), -1);
    std::vector<bool> taken(placeholders_.size(), false);
    for (const InPlace& ip : in_place) {
        if (ip.output >= outputs.size())
            throw UserError(fmt::format("in_place: output {} does not exist (the program has {} outputs)", ip.output,
                                        outputs.size()));
        const auto it = std::find(input_names_.begin(), input_names_.end(), ip.input);
        if (it == input_names_.end())
            throw UserError(fmt::format("in_place: output {} cannot be written over '{}': the outputs read no input of "
                                        "that name (inputs: {})",
                                        ip.output, ip.input, fmt::join(input_names_, ", ")));
        const auto i = static_cast<std::size_t>(it - input_names_.begin());
        const Node& in = *placeholders_[i];
        const Node& out = *output_nodes_[ip.output];
        if (in.dtype() != out.dtype() || in.shape() != out.shape())
            throw UserError(fmt::format("in_place: output {} ({} {}) cannot be written over '{}' ({} {})", ip.output,
                                        out.dtype(), out.shape(), ip.input, in.dtype(), in.shape()));
        if (in_place_[ip.output] >= 0)
            throw UserError(fmt::format("in_place: output {} is declared twice", ip.output));
        if (taken[i]) throw UserError(fmt::format("in_place: two outputs are declared over '{}'", ip.input));
        taken[i] = true;
        in_place_[ip.output] = static_cast<int>(i);
    }
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

void Program::check_outputs(std::span<const Tensor> outputs, std::span<const Tensor* const> inputs) const {
    if (outputs.size() != output_nodes_.size())
        throw UserError(fmt::format("run_into: {} output tensors given, the program has {}", outputs.size(),
                                    output_nodes_.size()));
    for (std::size_t k = 0; k < outputs.size(); ++k) {
        const Node& n = *output_nodes_[k];
        if (outputs[k].dtype() != n.dtype() || outputs[k].shape() != n.shape() || !outputs[k].is_contiguous())
            throw UserError(fmt::format("run_into: output {} must be a contiguous {} {}, got {} {}", k, n.dtype(),
                                        n.shape(), outputs[k].dtype(), outputs[k].shape()));
        const Storage* storage = outputs[k].storage().get();
        for (std::size_t i = 0; i < inputs.size(); ++i) {
            if (inputs[i]->storage().get() != storage || !overlap(outputs[k], *inputs[i])) continue;
            if (in_place_[k] != static_cast<int>(i))
                throw UserError(fmt::format("run_into: output {} shares memory with input '{}', which it was not "
                                            "compiled to be written over (see InPlace)",
                                            k, input_names_[i]));
            if (outputs[k].raw_data() != inputs[i]->raw_data() || !inputs[i]->is_contiguous())
                throw UserError(fmt::format("run_into: output {} overlaps input '{}' without being the same tensor",
                                            k, input_names_[i]));
        }
    }
}

void Program::run_into(const Bindings& bindings, std::span<Tensor> outputs) const {
    std::vector<const Tensor*> inputs(placeholders_.size());
    find_inputs(bindings, inputs);
    check_outputs(outputs, inputs);
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
