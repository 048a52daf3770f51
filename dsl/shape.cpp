#include "nnjit/shape.hpp"

#include "nnjit/error.hpp"

namespace nnjit {

Shape::Shape(std::initializer_list<std::int64_t> dims) : dims_(dims) { validate(); }
Shape::Shape(std::span<const std::int64_t> dims) : dims_(dims.begin(), dims.end()) { validate(); }
Shape::Shape(std::vector<std::int64_t> dims) : dims_(std::move(dims)) { validate(); }

void Shape::validate() const {
    if (rank() > kMaxRank)
        throw UserError(fmt::format("shape has rank {}; nnjit supports rank up to {}", rank(), kMaxRank));
    for (auto d : dims_)
        if (d < 0) throw UserError(fmt::format("shape ({}) has a negative dimension", fmt::join(dims_, ", ")));
    (void)numel();
}

std::int64_t Shape::numel() const {
    std::int64_t n = 1;
    for (auto d : dims_)
        if (__builtin_mul_overflow(n, d, &n))
            throw UserError(fmt::format("shape ({}) has too many elements", fmt::join(dims_, ", ")));
    return n;
}

int Shape::normalize_axis(std::int64_t axis, std::string_view op) const {
    const std::int64_t r = rank();
    if (axis < -r || axis >= r || r == 0)
        throw UserError(fmt::format("{}: axis {} is out of range for shape {}", op, axis, *this));
    return static_cast<int>(axis < 0 ? axis + r : axis);
}

std::vector<std::int64_t> contiguous_strides(const Shape& shape) {
    std::vector<std::int64_t> strides(static_cast<std::size_t>(shape.rank()));
    // Unsigned: in a shape with a zero dimension the other dimensions may multiply past int64
    // (numel is still 0); such strides are never used to address anything, but must not be UB.
    std::uint64_t s = 1;
    for (int i = shape.rank() - 1; i >= 0; --i) {
        strides[static_cast<std::size_t>(i)] = static_cast<std::int64_t>(s);
        s *= static_cast<std::uint64_t>(shape[i]);
    }
    return strides;
}

Shape broadcast_shapes(const Shape& a, const Shape& b, std::string_view op) {
    const int rank = std::max(a.rank(), b.rank());
    std::vector<std::int64_t> out(static_cast<std::size_t>(rank));
    for (int i = 0; i < rank; ++i) {
        const int ia = a.rank() - rank + i, ib = b.rank() - rank + i;
        const std::int64_t da = ia >= 0 ? a[ia] : 1, db = ib >= 0 ? b[ib] : 1;
        if (da != db && da != 1 && db != 1)
            throw UserError(fmt::format("{}: shapes {} and {} cannot be broadcast together", op, a, b));
        out[static_cast<std::size_t>(i)] = da == 1 ? db : da;
    }
    return Shape(std::move(out));
}

bool broadcastable_to(const Shape& from, const Shape& to) {
    if (from.rank() > to.rank()) return false;
    for (int i = 0; i < from.rank(); ++i) {
        const std::int64_t d = from[i], t = to[to.rank() - from.rank() + i];
        if (d != t && d != 1) return false;
    }
    return true;
}

}  // namespace nnjit
