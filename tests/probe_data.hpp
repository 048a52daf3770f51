// Test data for the activation probes (nn/diagnostics.hpp): pre-activations whose units are
// not all active, so that "active in the batch" (a max over the rows) is not always 1.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "nnjit/tensor.hpp"

namespace nnjit::test {

// z (rows, units) with quiet columns: every third column never above -4 (NaNs kept), every
// third from the second the same but for one row, somewhere in the batch, at 4 or more. A bias
// of magnitude < 4 (small_bias) keeps those signs.
template <class T> Tensor with_quiet_columns(Tensor z) {
    const std::int64_t rows = z.shape()[0], units = z.shape()[1];
    T* p = z.data<T>();
    for (std::int64_t u = 0; u < units; ++u) {
        if (u % 3 == 2) continue;
        for (std::int64_t r = 0; r < rows; ++r) {
            T& x = p[r * units + u];
            if (!std::isnan(x)) x = -std::abs(x) - T(4);
        }
        if (u % 3 == 1) {
            T& x = p[((u * 37 + 11) % rows) * units + u];
            x = std::isnan(x) ? T(5) : std::abs(x) + T(4);
        }
    }
    return z;
}

inline Tensor with_quiet_columns(const Tensor& z) {
    return z.dtype() == DType::f32 ? with_quiet_columns<float>(z) : with_quiet_columns<double>(z);
}

// A random bias in [-3, 3].
inline Tensor small_bias(std::int64_t units, DType dtype, std::uint64_t seed) {
    Tensor b = Tensor::randn(DType::f64, Shape{units}, seed);
    for (std::int64_t u = 0; u < units; ++u) b.data<double>()[u] = std::clamp(b.data<double>()[u], -3.0, 3.0);
    return b.to(dtype);
}

}  // namespace nnjit::test
