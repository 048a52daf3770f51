#include "nnjit/program.hpp"

#include <cstring>

#include "nnjit/error.hpp"

namespace nnjit {

const Tensor& bound_tensor(const Node& placeholder, const Bindings& bindings) {
    const std::string& name = placeholder.attrs().name;
    auto it = bindings.find(name);
    if (it == bindings.end()) throw UserError(fmt::format("no tensor is bound to {} '{}'", op_name(placeholder.op()), name));
    const Tensor& t = it->second;
    if (t.dtype() != placeholder.dtype() || t.shape() != placeholder.shape())
        throw UserError(fmt::format("{} '{}' expects {} {}, got {} {}", op_name(placeholder.op()), name,
                                    placeholder.dtype(), placeholder.shape(), t.dtype(), t.shape()));
    return t;
}

void Program::run_into(const Bindings& bindings, std::span<Tensor> outputs) const {
    auto results = run(bindings);
    if (results.size() != outputs.size())
        throw UserError(fmt::format("run_into: {} output tensors given, the program has {}", outputs.size(),
                                    results.size()));
    for (std::size_t i = 0; i < results.size(); ++i) {
        Tensor& out = outputs[i];
        if (out.dtype() != results[i].dtype() || out.shape() != results[i].shape() || !out.is_contiguous())
            throw UserError(fmt::format("run_into: output {} must be a contiguous {} {}, got {} {}", i,
                                        results[i].dtype(), results[i].shape(), out.dtype(), out.shape()));
        std::memcpy(out.raw_data(), results[i].raw_data(),
                    static_cast<std::size_t>(out.numel()) * dtype_size(out.dtype()));
    }
}

}  // namespace nnjit
