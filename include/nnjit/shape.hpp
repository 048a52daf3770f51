// Tensor shapes and NumPy broadcasting.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <span>
#include <vector>

#include <fmt/format.h>

namespace nnjit {

// A list of dimension sizes; rank 0 is a scalar. Ranks up to kMaxRank are supported.
class Shape {
public:
    static constexpr int kMaxRank = 8;

    Shape() = default;
    Shape(std::initializer_list<std::int64_t> dims);
    explicit Shape(std::span<const std::int64_t> dims);
    explicit Shape(std::vector<std::int64_t> dims);

    int rank() const { return static_cast<int>(dims_.size()); }
    std::int64_t operator[](int i) const { return dims_[static_cast<std::size_t>(i)]; }
    std::int64_t& operator[](int i) { return dims_[static_cast<std::size_t>(i)]; }
    const std::vector<std::int64_t>& dims() const { return dims_; }
    std::span<const std::int64_t> span() const { return dims_; }

    // Number of elements (1 for a scalar). Throws UserError when it overflows int64.
    std::int64_t numel() const;

    // Turns a possibly negative axis (Python style) into 0..rank-1, or throws naming `op`.
    int normalize_axis(std::int64_t axis, std::string_view op) const;

    // Element by element: ranks are small, and a call to memcmp costs more than this loop.
    friend bool operator==(const Shape& a, const Shape& b) {
        if (a.dims_.size() != b.dims_.size()) return false;
        for (std::size_t i = 0; i < a.dims_.size(); ++i)
            if (a.dims_[i] != b.dims_[i]) return false;
        return true;
    }

private:
    void validate() const;
    std::vector<std::int64_t> dims_;
};

// Row-major strides, in elements.
std::vector<std::int64_t> contiguous_strides(const Shape& shape);

// The NumPy broadcast of two shapes; throws UserError naming `op` and both shapes.
Shape broadcast_shapes(const Shape& a, const Shape& b, std::string_view op);

// True when `from` broadcasts to `to` (NumPy rules, no change of rank downwards).
bool broadcastable_to(const Shape& from, const Shape& to);

}  // namespace nnjit

// Prints like NumPy: (2, 3), (5,), ().
template <> struct fmt::formatter<nnjit::Shape> {
    constexpr auto parse(fmt::format_parse_context& ctx) { return ctx.begin(); }
    auto format(const nnjit::Shape& s, fmt::format_context& ctx) const {
        if (s.rank() == 1) return fmt::format_to(ctx.out(), "({},)", s[0]);
        return fmt::format_to(ctx.out(), "({})", fmt::join(s.dims(), ", "));
    }
};
