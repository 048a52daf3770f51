// Helpers for tensors of samples (one row per sample): one-hot labels, gathering rows into a
// batch, the arg-max of each row, classification accuracy.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "nnjit/tensor.hpp"

namespace nnjit::nn {

// labels: any shape of n integer values in [0, classes); result (n, classes) of `dtype`.
Tensor one_hot(const Tensor& labels, std::int64_t classes, DType dtype = DType::f32);

// Copies rows `rows` of `source` (n, ...) into `batch` (rows.size(), ...), same dtype,
// contiguous; a shape or dtype mismatch or a row out of range is a UserError.
void gather_rows(const Tensor& source, std::span<const std::int64_t> rows, Tensor& batch);

// Index of the largest entry of each row of a 2-D tensor (the first on ties).
std::vector<std::int64_t> argmax_rows(const Tensor& t);

// Number of rows classified right. With several columns: the arg-max of `output` and of
// `target` agree; with one column (binary logits): output > 0 agrees with target > 0.5.
std::int64_t count_correct(const Tensor& output, const Tensor& target);

// A seeded permutation of 0..n-1 (Fisher-Yates over SplitMix64: the same on every machine).
std::vector<std::int64_t> permutation(std::int64_t n, std::uint64_t seed);

}  // namespace nnjit::nn
