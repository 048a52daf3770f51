#include "nnjit/nn/weights.hpp"

#include <set>
#include <string>
#include <system_error>

#include "nnjit/error.hpp"
#include "nnjit/npy.hpp"

namespace nnjit::nn {
namespace {
namespace fs = std::filesystem;

fs::path file_of(const fs::path& dir, const std::string& name) {
    // A parameter name becomes a file name: nothing that could leave the directory.
    if (name.empty() || name == "." || name == ".." || name.find_first_of("/\\") != std::string::npos)
        throw UserError(fmt::format("weights: parameter name '{}' cannot be a file name", name));
    return dir / (name + ".npy");
}

}  // namespace

void save_weights(const fs::path& dir, const Parameters& params) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) throw UserError(fmt::format("save_weights: cannot create directory {}: {}", dir.string(), ec.message()));
    for (const auto& e : params.entries()) write_npy(file_of(dir, e.name), e.value);
}

Parameters load_weights(const fs::path& dir, std::span<const ParameterSpec> specs, DType dtype) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) throw UserError(fmt::format("load_weights: {} is not a directory", dir.string()));
    Parameters out;
    std::set<std::string> expected;
    for (const ParameterSpec& s : specs) {
        const fs::path file = file_of(dir, s.name);
        expected.insert(file.filename().string());
        if (!fs::exists(file, ec))
            throw UserError(fmt::format("load_weights: {} has no file {} for parameter '{}' of shape {}", dir.string(),
                                        file.filename().string(), s.name, s.shape));
        const Tensor t = read_npy(file);
        if (t.shape() != s.shape)
            throw UserError(fmt::format("load_weights: parameter '{}' has shape {} in the model but {} in {}", s.name,
                                        s.shape, t.shape(), file.string()));
        out.add(s.name, t.dtype() == dtype ? t : t.to(dtype));
    }
    // Weights of another model (a renamed or extra layer) are a mismatch, not something to skip.
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
        const fs::path& p = entry.path();
        if (p.extension() == ".npy" && !expected.count(p.filename().string()))
            throw UserError(fmt::format("load_weights: {} holds {}, which names no parameter of the model", dir.string(),
                                        p.filename().string()));
    }
    if (ec) throw UserError(fmt::format("load_weights: cannot list {}: {}", dir.string(), ec.message()));
    return out;
}

}  // namespace nnjit::nn
