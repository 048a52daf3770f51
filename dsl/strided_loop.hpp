// Iteration over N tensors of one logical shape, each with its own strides (0 for a broadcast
// dimension), row by row: the innermost dimension is handed to a loop body that the caller
// specialises, so that contiguous and broadcast rows become tight, vectorisable loops.
// Adjacent dimensions are merged first wherever every operand allows it, so a contiguous
// tensor is one row.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "nnjit/shape.hpp"

namespace nnjit::detail {

template <std::size_t N> struct StridedLayout {
    std::vector<std::int64_t> dims;
    std::array<std::vector<std::int64_t>, N> strides;
};

template <std::size_t N>
StridedLayout<N> coalesce(const Shape& shape, const std::array<std::vector<std::int64_t>, N>& strides) {
    StridedLayout<N> out;
    for (int d = 0; d < shape.rank(); ++d) {
        const auto ud = static_cast<std::size_t>(d);
        if (shape[d] == 1) continue;  // size-1 dimensions never move the offset
        bool merge = !out.dims.empty();
        for (std::size_t k = 0; k < N && merge; ++k)
            merge = out.strides[k].back() == strides[k][ud] * shape[d];
        if (merge) {
            out.dims.back() *= shape[d];
            for (std::size_t k = 0; k < N; ++k) out.strides[k].back() = strides[k][ud];
        } else {
            out.dims.push_back(shape[d]);
            for (std::size_t k = 0; k < N; ++k) out.strides[k].push_back(strides[k][ud]);
        }
    }
    if (out.dims.empty()) {  // a scalar, or all dimensions of size 1
        out.dims.push_back(1);
        for (std::size_t k = 0; k < N; ++k) out.strides[k].push_back(0);
    }
    return out;
}

// Calls row(offsets, length, inner_strides) for each innermost row; offsets are in elements.
template <std::size_t N, class Row>
void for_each_row(const Shape& shape, const std::array<std::vector<std::int64_t>, N>& strides, Row&& row) {
    if (shape.numel() == 0) return;
    const auto layout = coalesce(shape, strides);
    const int rank = static_cast<int>(layout.dims.size());
    const auto inner = static_cast<std::size_t>(rank - 1);
    std::array<std::int64_t, N> inner_strides, offsets{};
    for (std::size_t k = 0; k < N; ++k) inner_strides[k] = layout.strides[k][inner];
    std::vector<std::int64_t> index(static_cast<std::size_t>(rank), 0);
    for (;;) {
        row(offsets, layout.dims[inner], inner_strides);
        int d = rank - 2;
        for (; d >= 0; --d) {
            const auto ud = static_cast<std::size_t>(d);
            if (++index[ud] < layout.dims[ud]) {
                for (std::size_t k = 0; k < N; ++k) offsets[k] += layout.strides[k][ud];
                break;
            }
            for (std::size_t k = 0; k < N; ++k) offsets[k] -= layout.strides[k][ud] * (layout.dims[ud] - 1);
            index[ud] = 0;
        }
        if (d < 0) return;
    }
}

}  // namespace nnjit::detail
