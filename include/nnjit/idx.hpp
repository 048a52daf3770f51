// Reading IDX files, the format of (Fashion-)MNIST: a big-endian header - two zero bytes, a
// type code (0x08 ubyte, 0x09 sbyte, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64), the
// rank - then one big-endian uint32 per dimension, then the values in row-major order.
// Files may be gzip-compressed (as Debian ships them). Values become a float32 or float64
// tensor unchanged (bytes stay 0..255). A bad magic, an unknown type, a truncated header or
// body, trailing bytes, or more data claimed than present is a UserError naming the source;
// sizes are checked against the bytes present before anything is allocated.
#pragma once

#include <cstddef>
#include <filesystem>
#include <span>
#include <string_view>

#include "nnjit/tensor.hpp"

namespace nnjit {

// Parses IDX bytes already in memory (uncompressed), e.g. for a fuzzer.
Tensor parse_idx(std::span<const std::byte> bytes, std::string_view source = "idx data", DType dtype = DType::f32);

// Reads an IDX file, gzip-compressed or not.
Tensor read_idx(const std::filesystem::path& path, DType dtype = DType::f32);

// Samples and their labels, e.g. train-images-idx3-ubyte.gz and train-labels-idx1-ubyte.gz.
struct IdxDataset {
    Tensor samples;  // (n, ...) as in the file
    Tensor labels;   // (n,)
};
// Reads both files; labels that are not rank 1, or counts that differ, are a UserError.
IdxDataset read_idx_dataset(const std::filesystem::path& samples, const std::filesystem::path& labels,
                            DType dtype = DType::f32);

}  // namespace nnjit
