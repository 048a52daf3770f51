// Element types a tensor can hold. nnjit computes in float32 (the fast path) and float64
// (the oracle the tests compare against).
#pragma once

#include <cstddef>
#include <string_view>

#include <fmt/format.h>

namespace nnjit {

enum class DType : unsigned char { f32, f64 };

constexpr std::size_t dtype_size(DType t) { return t == DType::f32 ? 4 : 8; }

constexpr std::string_view dtype_name(DType t) { return t == DType::f32 ? "float32" : "float64"; }

// float32 op float64 is float64, as in NumPy and PyTorch.
constexpr DType promote(DType a, DType b) { return (a == DType::f64 || b == DType::f64) ? DType::f64 : DType::f32; }

template <class T> constexpr DType dtype_of();
template <> constexpr DType dtype_of<float>() { return DType::f32; }
template <> constexpr DType dtype_of<double>() { return DType::f64; }

}  // namespace nnjit

template <> struct fmt::formatter<nnjit::DType> : fmt::formatter<std::string_view> {
    auto format(nnjit::DType t, fmt::format_context& ctx) const {
        return fmt::formatter<std::string_view>::format(nnjit::dtype_name(t), ctx);
    }
};
