// Parameters: a model's trainable tensors by name, in the order the model declares them.
// The tensors are handles: copying a Parameters shares storage (clone() copies the values).
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "nnjit/tensor.hpp"

namespace nnjit::nn {

// What a model declares: the name and shape of a parameter, and its dtype once created.
struct ParameterSpec {
    std::string name;
    Shape shape;
};

class Parameters {
public:
    struct Entry {
        std::string name;
        Tensor value;
    };

    // Adds a parameter; a name given twice is a UserError.
    void add(std::string name, Tensor value);
    bool contains(std::string_view name) const;
    // Throws UserError naming the parameter when there is none of that name.
    const Tensor& at(std::string_view name) const;
    Tensor& at(std::string_view name);

    std::span<const Entry> entries() const { return entries_; }
    std::size_t size() const { return entries_.size(); }
    std::int64_t numel() const;  // total number of scalars
    Parameters clone() const;    // deep copy

private:
    std::vector<Entry> entries_;
};

}  // namespace nnjit::nn
