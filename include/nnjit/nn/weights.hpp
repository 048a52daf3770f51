// Saving and loading a model's weights: one .npy file per parameter, named after it
// (`dense0.weight.npy`), in one directory, so that NumPy reads them as they are.
#pragma once

#include <filesystem>
#include <span>

#include "nnjit/nn/parameters.hpp"
#include "nnjit/nn/sequential.hpp"

namespace nnjit::nn {

// Creates `dir` if needed and writes every parameter into it.
void save_weights(const std::filesystem::path& dir, const Parameters& params);

// Reads the parameters `specs` names from `dir`, converted to `dtype`. A missing file, a
// shape that differs from the spec, or a .npy file in `dir` that names no parameter of the
// model is a UserError naming the parameter, the file and both shapes.
Parameters load_weights(const std::filesystem::path& dir, std::span<const ParameterSpec> specs,
                        DType dtype = DType::f32);
inline Parameters load_weights(const std::filesystem::path& dir, const Sequential& model, DType dtype = DType::f32) {
    const auto specs = model.parameter_specs();
    return load_weights(dir, specs, dtype);
}

}  // namespace nnjit::nn
