#include "nnjit/tensor.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <numeric>
#include <random>

#include <sys/mman.h>

namespace nnjit {

namespace {
// Large buffers are aligned to 2 MiB and offered to transparent huge pages: touching fresh
// memory then faults once per 2 MiB instead of once per 4 KiB, which on virtual machines is
// most of the cost of a large fresh tensor.
constexpr std::size_t kHugePage = std::size_t{2} << 20;
constexpr std::size_t kHugeThreshold = 4 * kHugePage;

std::size_t alignment_for(std::size_t bytes) { return bytes >= kHugeThreshold ? kHugePage : Storage::kAlignment; }
}  // namespace

Storage::Storage(std::size_t bytes) : bytes_(bytes) {
    // Round up so that vector loops may read whole cache lines; never allocate 0 bytes.
    const std::size_t align = alignment_for(bytes);
    const std::size_t rounded = (std::max<std::size_t>(bytes, 1) + align - 1) / align * align;
    if (align == kHugePage) {
        allocation_ = ::operator new(rounded, std::align_val_t(align), std::nothrow);
        data_ = static_cast<std::byte*>(allocation_);
        if (data_ != nullptr) madvise(data_, rounded, MADV_HUGEPAGE);  // advice only: failure is harmless
    } else {
        // malloc, aligned here: glibc's aligned allocation (memalign) takes ~90 ns a call on
        // the project's machine against malloc's ~20 ns, and a small network's single-sample
        // inference is a few hundred nanoseconds in all.
        allocation_ = std::malloc(rounded + align);
        const auto address = reinterpret_cast<std::uintptr_t>(allocation_);
        data_ = allocation_ == nullptr ? nullptr : static_cast<std::byte*>(allocation_) + (align - address % align) % align;
    }
    if (data_ == nullptr) throw UserError(fmt::format("cannot allocate {} bytes for a tensor", bytes));
}

Storage::~Storage() {
    if (alignment_for(bytes_) == kHugePage) ::operator delete(allocation_, std::align_val_t(kHugePage));
    else std::free(allocation_);
}

Tensor::Tensor() : Tensor(zeros(DType::f32, Shape{})) {}

Tensor::Tensor(std::shared_ptr<Storage> storage, DType dtype, Shape shape, std::vector<std::int64_t> strides,
               std::int64_t offset)
    : storage_(std::move(storage)), dtype_(dtype), shape_(std::move(shape)), strides_(std::move(strides)),
      offset_(offset), contiguous_(row_major()) {}

void Tensor::check_dtype(DType wanted) const {
    if (wanted != dtype_)
        throw UserError(fmt::format("tensor of dtype {} accessed as {}", dtype_name(dtype_), dtype_name(wanted)));
}

Tensor Tensor::empty(DType dtype, Shape shape) {
    const std::int64_t n = shape.numel();
    if (static_cast<std::uint64_t>(n) > (std::uint64_t{1} << 62) / dtype_size(dtype))
        throw UserError(fmt::format("cannot allocate a tensor of shape {}: too large", shape));
    auto storage = std::make_shared<Storage>(static_cast<std::size_t>(n) * dtype_size(dtype));
    auto strides = contiguous_strides(shape);
    return Tensor(std::move(storage), dtype, std::move(shape), std::move(strides), 0);
}

Tensor Tensor::on_storage(std::shared_ptr<Storage> storage, DType dtype, Shape shape) {
    const auto needed = static_cast<std::size_t>(shape.numel()) * dtype_size(dtype);
    if (!storage || storage->bytes() < needed)
        throw InternalError(fmt::format("storage too small for a {} tensor of shape {}", dtype, shape));
    auto strides = contiguous_strides(shape);
    return Tensor(std::move(storage), dtype, std::move(shape), std::move(strides), 0);
}

Tensor Tensor::zeros(DType dtype, Shape shape) {
    Tensor t = empty(dtype, std::move(shape));
    std::memset(t.raw_data(), 0, static_cast<std::size_t>(t.numel()) * dtype_size(dtype));
    return t;
}

namespace {
template <class F> Tensor generate(DType dtype, Shape shape, F&& value_at) {
    Tensor t = Tensor::empty(dtype, std::move(shape));
    const std::int64_t n = t.numel();
    if (dtype == DType::f32) {
        float* p = t.data<float>();
        for (std::int64_t i = 0; i < n; ++i) p[i] = static_cast<float>(value_at(i));
    } else {
        double* p = t.data<double>();
        for (std::int64_t i = 0; i < n; ++i) p[i] = value_at(i);
    }
    return t;
}
}  // namespace

Tensor Tensor::full(DType dtype, Shape shape, double value) {
    return generate(dtype, std::move(shape), [&](std::int64_t) { return value; });
}

template <class T> Tensor Tensor::from(Shape shape, std::span<const T> values) {
    if (static_cast<std::int64_t>(values.size()) != shape.numel())
        throw UserError(fmt::format("{} values given for a tensor of shape {} ({} elements)", values.size(), shape,
                                    shape.numel()));
    Tensor t = empty(dtype_of<T>(), std::move(shape));
    std::copy(values.begin(), values.end(), t.data<T>());
    return t;
}
template Tensor Tensor::from<float>(Shape, std::span<const float>);
template Tensor Tensor::from<double>(Shape, std::span<const double>);

Tensor Tensor::arange(DType dtype, std::int64_t n) {
    if (n < 0) throw UserError(fmt::format("arange: n must be >= 0, got {}", n));
    return generate(dtype, Shape{n}, [](std::int64_t i) { return static_cast<double>(i); });
}

Tensor Tensor::linspace(DType dtype, double start, double stop, std::int64_t n) {
    if (n < 0) throw UserError(fmt::format("linspace: n must be >= 0, got {}", n));
    const double step = n > 1 ? (stop - start) / static_cast<double>(n - 1) : 0.0;
    return generate(dtype, Shape{n}, [&](std::int64_t i) {
        return i == n - 1 && n > 1 ? stop : start + step * static_cast<double>(i);
    });
}

Tensor Tensor::randn(DType dtype, Shape shape, std::uint64_t seed) {
    // mt19937_64 is specified exactly by the standard; the Box-Muller transform below is ours,
    // so values do not depend on the standard library's distribution implementation.
    std::mt19937_64 gen(seed);
    auto uniform = [&] { return (static_cast<double>(gen() >> 11) + 0.5) * 0x1.0p-53; };
    return generate(dtype, std::move(shape), [&](std::int64_t) {
        const double u1 = uniform(), u2 = uniform();
        return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
    });
}

Tensor Tensor::rand(DType dtype, Shape shape, std::uint64_t seed) {
    std::mt19937_64 gen(seed);
    return generate(dtype, std::move(shape), [&](std::int64_t) {
        // 24 random bits for float32 so that the value is exact and strictly below 1.
        return dtype == DType::f32 ? static_cast<double>(gen() >> 40) * 0x1.0p-24
                                   : static_cast<double>(gen() >> 11) * 0x1.0p-53;
    });
}

bool Tensor::row_major() const {
    // As strides_ == contiguous_strides(shape_), without making that vector.
    bool row_major = true;
    std::uint64_t expected = 1;  // unsigned, as in contiguous_strides
    for (int i = rank() - 1; i >= 0; --i) {
        row_major = row_major && strides_[static_cast<std::size_t>(i)] == static_cast<std::int64_t>(expected);
        expected *= static_cast<std::uint64_t>(shape_[i]);
    }
    return row_major || expected <= 1;  // expected is numel now: 0 or 1 element has any strides
}

double Tensor::at(std::span<const std::int64_t> index) const {
    if (static_cast<int>(index.size()) != rank())
        throw UserError(fmt::format("index of rank {} used on a tensor of shape {}", index.size(), shape_));
    std::int64_t off = 0;
    for (int i = 0; i < rank(); ++i) {
        const auto k = index[static_cast<std::size_t>(i)];
        if (k < 0 || k >= shape_[i])
            throw UserError(fmt::format("index {} is out of range for dimension {} of shape {}", k, i, shape_));
        off += k * strides_[static_cast<std::size_t>(i)];
    }
    return dtype_ == DType::f32 ? static_cast<double>(static_cast<const float*>(raw_data())[off])
                                : static_cast<const double*>(raw_data())[off];
}

double Tensor::flat(std::int64_t i) const {
    std::int64_t off = 0;
    for (int d = rank() - 1; d >= 0; --d) {
        off += (i % shape_[d]) * strides_[static_cast<std::size_t>(d)];
        i /= shape_[d];
    }
    return dtype_ == DType::f32 ? static_cast<double>(static_cast<const float*>(raw_data())[off])
                                : static_cast<const double*>(raw_data())[off];
}

std::vector<double> Tensor::to_doubles() const {
    std::vector<double> out;
    out.reserve(static_cast<std::size_t>(numel()));
    for_each_offset(shape_, strides_, [&](std::int64_t off) {
        out.push_back(dtype_ == DType::f32 ? static_cast<double>(static_cast<const float*>(raw_data())[off])
                                           : static_cast<const double*>(raw_data())[off]);
    });
    return out;
}

Tensor Tensor::broadcast_to(const Shape& shape) const {
    if (!broadcastable_to(shape_, shape))
        throw UserError(fmt::format("broadcast_to: shape {} cannot be broadcast to {}", shape_, shape));
    std::vector<std::int64_t> strides(static_cast<std::size_t>(shape.rank()), 0);
    const int lead = shape.rank() - rank();
    for (int i = 0; i < rank(); ++i)
        if (shape_[i] != 1) strides[static_cast<std::size_t>(lead + i)] = strides_[static_cast<std::size_t>(i)];
    return Tensor(storage_, dtype_, shape, std::move(strides), offset_);
}

Tensor Tensor::transpose(std::span<const int> perm) const {
    if (static_cast<int>(perm.size()) != rank())
        throw UserError(fmt::format("transpose: permutation of {} axes given for shape {}", perm.size(), shape_));
    std::vector<bool> seen(perm.size(), false);
    std::vector<std::int64_t> dims(perm.size()), strides(perm.size());
    for (std::size_t i = 0; i < perm.size(); ++i) {
        const int p = perm[i];
        if (p < 0 || p >= rank() || seen[static_cast<std::size_t>(p)])
            throw UserError(fmt::format("transpose: ({}) is not a permutation of the axes of shape {}",
                                        fmt::join(perm, ", "), shape_));
        seen[static_cast<std::size_t>(p)] = true;
        dims[i] = shape_[p];
        strides[i] = strides_[static_cast<std::size_t>(p)];
    }
    return Tensor(storage_, dtype_, Shape(std::move(dims)), std::move(strides), offset_);
}

Tensor Tensor::transpose() const {
    std::vector<int> perm(static_cast<std::size_t>(rank()));
    std::iota(perm.rbegin(), perm.rend(), 0);
    return transpose(perm);
}

Tensor Tensor::reshape(const Shape& shape) const {
    if (shape.numel() != numel())
        throw UserError(fmt::format("reshape: cannot reshape {} ({} elements) to {} ({} elements)", shape_, numel(),
                                    shape, shape.numel()));
    const Tensor src = contiguous();
    return Tensor(src.storage_, dtype_, shape, contiguous_strides(shape), src.offset_);
}

Tensor Tensor::contiguous() const { return is_contiguous() ? *this : clone(); }

Tensor Tensor::clone() const { return to(dtype_); }

Tensor Tensor::to(DType dtype) const {
    Tensor out = empty(dtype, shape_);
    std::int64_t i = 0;
    auto copy = [&](auto* dst, const auto* src) {
        using D = std::remove_pointer_t<decltype(dst)>;
        for_each_offset(shape_, strides_, [&](std::int64_t off) { dst[i++] = static_cast<D>(src[off]); });
    };
    const void* src = raw_data();
    if (dtype == DType::f32) {
        if (dtype_ == DType::f32) copy(out.data<float>(), static_cast<const float*>(src));
        else copy(out.data<float>(), static_cast<const double*>(src));
    } else {
        if (dtype_ == DType::f32) copy(out.data<double>(), static_cast<const float*>(src));
        else copy(out.data<double>(), static_cast<const double*>(src));
    }
    return out;
}

bool bitwise_equal(const Tensor& a, const Tensor& b) {
    if (a.dtype() != b.dtype() || a.shape() != b.shape()) return false;
    const auto va = a.to_doubles(), vb = b.to_doubles();
    for (std::size_t i = 0; i < va.size(); ++i) {
        if (std::isnan(va[i]) && std::isnan(vb[i])) continue;
        if (std::memcmp(&va[i], &vb[i], sizeof(double)) != 0) return false;
    }
    return true;
}

}  // namespace nnjit
