#include "nnjit/nn/parameters.hpp"

#include <algorithm>

#include "nnjit/error.hpp"

namespace nnjit::nn {

void Parameters::add(std::string name, Tensor value) {
    if (contains(name)) throw UserError(fmt::format("parameter '{}' is defined twice", name));
    entries_.push_back({std::move(name), std::move(value)});
}

bool Parameters::contains(std::string_view name) const {
    return std::any_of(entries_.begin(), entries_.end(), [&](const Entry& e) { return e.name == name; });
}

const Tensor& Parameters::at(std::string_view name) const {
    for (const Entry& e : entries_)
        if (e.name == name) return e.value;
    throw UserError(fmt::format("there is no parameter '{}'", name));
}

Tensor& Parameters::at(std::string_view name) {
    return const_cast<Tensor&>(static_cast<const Parameters&>(*this).at(name));
}

std::int64_t Parameters::numel() const {
    std::int64_t n = 0;
    for (const Entry& e : entries_) n += e.value.numel();
    return n;
}

Parameters Parameters::clone() const {
    Parameters copy;
    for (const Entry& e : entries_) copy.add(e.name, e.value.clone());
    return copy;
}

}  // namespace nnjit::nn
