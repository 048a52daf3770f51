// Reading and writing NumPy's .npy files, the format tensors travel in between nnjit and
// Python. Supported: little-endian float32 ('<f4') and float64 ('<f8'), C order, format
// versions 1.0, 2.0 and 3.0, shapes of any rank nnjit supports (0..Shape::kMaxRank).
// Anything else (other dtypes, big-endian, fortran_order, bad magic, a truncated or malformed
// header, data that does not match the shape) is a UserError naming the file and what was
// found. Sizes are checked against the bytes actually present before anything is allocated,
// so a hostile header cannot make the reader allocate more than the file holds.
#pragma once

#include <cstddef>
#include <filesystem>
#include <span>
#include <string_view>
#include <vector>

#include "nnjit/tensor.hpp"

namespace nnjit {

// Reads a .npy file into a fresh contiguous tensor.
Tensor read_npy(const std::filesystem::path& path);

// Writes `tensor` (any layout) as a version 1.0 .npy file (2.0 if the header needs it).
void write_npy(const std::filesystem::path& path, const Tensor& tensor);

// The same from and to memory, e.g. for a fuzzer. `source` names the bytes in error messages.
Tensor parse_npy(std::span<const std::byte> bytes, std::string_view source = "npy data");
std::vector<std::byte> encode_npy(const Tensor& tensor);

}  // namespace nnjit
