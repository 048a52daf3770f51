// Dims: the shape of an expression as far as the compiler knows it. Each dimension is a fixed
// size or Dynamic (known only when a tensor is bound): Dims<Dynamic, 784> is "any number of rows
// of 784". The shape rules (NumPy broadcasting, matmul, reductions) are evaluated here at
// compile time on the static dimensions; dynamic ones are checked by the graph factories.
#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include <fmt/format.h>

#include "nnjit/shape.hpp"

namespace nnjit {

// A dimension whose size is only known at run time.
inline constexpr std::int64_t Dynamic = -1;

// A list of static dimensions as a value, for the consteval shape rules (a structural type, so
// it can also be a template argument).
struct DimList {
    std::int64_t dims[Shape::kMaxRank] = {};
    int rank = 0;
    constexpr std::int64_t at(int i) const { return dims[i]; }
};

template <std::int64_t... D> struct Dims {
    static_assert(sizeof...(D) <= Shape::kMaxRank, "Dims: at most 8 dimensions");
    static_assert(((D >= 0 || D == Dynamic) && ...), "Dims: a dimension is a size >= 0 or Dynamic");
    static constexpr int rank = static_cast<int>(sizeof...(D));
    static constexpr DimList list{{D...}, static_cast<int>(sizeof...(D))};
    static constexpr bool is_static = ((D != Dynamic) && ...);
};

// Dims made from a DimList computed by the rules below.
template <DimList L, class = std::make_index_sequence<static_cast<std::size_t>(L.rank)>> struct DimsOf;
template <DimList L, std::size_t... I> struct DimsOf<L, std::index_sequence<I...>> {
    using type = Dims<L.dims[I]...>;
};
template <DimList L> using dims_of_t = typename DimsOf<L>::type;

struct DimsResult {
    DimList dims;
    bool ok = true;
};

// NumPy broadcasting on static dimensions. A Dynamic dimension may turn out to be 1 or equal to
// the other side, so it only fails when both sides are static, differ and neither is 1.
consteval DimsResult broadcast_dims(DimList a, DimList b) {
    DimsResult r;
    r.dims.rank = a.rank > b.rank ? a.rank : b.rank;
    for (int i = 0; i < r.dims.rank; ++i) {
        const std::int64_t x = i < a.rank ? a.dims[a.rank - 1 - i] : 1;
        const std::int64_t y = i < b.rank ? b.dims[b.rank - 1 - i] : 1;
        std::int64_t out = x;
        if (x == 1) out = y;
        else if (y == 1) out = x;
        else if (x == Dynamic) out = y;
        else if (y == Dynamic) out = x;
        else if (x != y) r.ok = false;
        r.dims.dims[r.dims.rank - 1 - i] = out;
    }
    return r;
}

template <class D0, class... D> consteval DimsResult broadcast_all() {
    DimsResult r{D0::list, true};
    const DimList lists[] = {D0::list, D::list...};
    for (const DimList& l : lists) {
        const DimsResult next = broadcast_dims(r.dims, l);
        r = DimsResult{next.dims, r.ok && next.ok};
    }
    return r;
}

// True when `from` can broadcast to `to` for every value the dynamic dimensions may take.
consteval bool broadcastable_dims(DimList from, DimList to) {
    if (from.rank > to.rank) return false;
    for (int i = 0; i < from.rank; ++i) {
        const std::int64_t f = from.dims[from.rank - 1 - i];
        const std::int64_t t = to.dims[to.rank - 1 - i];
        if (f != 1 && f != Dynamic && t != Dynamic && f != t) return false;
    }
    return true;
}

// Two dimension lists that may describe the same shape.
consteval bool compatible_dims(DimList a, DimList b) {
    if (a.rank != b.rank) return false;
    for (int i = 0; i < a.rank; ++i)
        if (a.dims[i] != Dynamic && b.dims[i] != Dynamic && a.dims[i] != b.dims[i]) return false;
    return true;
}

// The product of the dimensions, or Dynamic when one of them is.
consteval std::int64_t static_numel(DimList a) {
    std::int64_t n = 1;
    for (int i = 0; i < a.rank; ++i) {
        if (a.dims[i] == Dynamic) return Dynamic;
        n *= a.dims[i];
    }
    return n;
}

// True when `shape` is one the dims allow.
inline bool matches_dims(const DimList& dims, const Shape& shape) {
    if (shape.rank() != dims.rank) return false;
    for (int i = 0; i < dims.rank; ++i)
        if (dims.dims[i] != Dynamic && dims.dims[i] != shape[i]) return false;
    return true;
}

// (?, 784) for Dims<Dynamic, 784>, in messages.
inline std::string format_dims(const DimList& dims) {
    std::string out = "(";
    for (int i = 0; i < dims.rank; ++i) {
        if (i) out += ", ";
        out += dims.dims[i] == Dynamic ? std::string("?") : fmt::format("{}", dims.dims[i]);
    }
    return out + (dims.rank == 1 ? ",)" : ")");
}

}  // namespace nnjit
