// Tensor: a typed, shaped view onto reference-counted, 64-byte aligned storage.
// Views (broadcast, transpose, reshape of contiguous data) share storage; strides are in
// elements and may be 0 (a broadcast dimension).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "nnjit/dtype.hpp"
#include "nnjit/error.hpp"
#include "nnjit/shape.hpp"

namespace nnjit {

// An aligned byte buffer. Allocation failure is a UserError naming the size, not an abort.
class Storage {
public:
    static constexpr std::size_t kAlignment = 64;
    explicit Storage(std::size_t bytes);
    ~Storage();
    Storage(const Storage&) = delete;
    Storage& operator=(const Storage&) = delete;

    std::byte* data() { return data_; }
    const std::byte* data() const { return data_; }
    std::size_t bytes() const { return bytes_; }

private:
    void* allocation_;  // what was allocated: data_ is aligned within it
    std::byte* data_;
    std::size_t bytes_;
};

class Tensor {
public:
    Tensor();  // a float32 scalar 0

    // Fresh contiguous tensors.
    static Tensor empty(DType dtype, Shape shape);
    // A contiguous tensor over existing storage (at least numel * element size bytes), e.g. a
    // buffer recycled by the interpreter.
    static Tensor on_storage(std::shared_ptr<Storage> storage, DType dtype, Shape shape);
    static Tensor zeros(DType dtype, Shape shape);
    static Tensor full(DType dtype, Shape shape, double value);
    template <class T> static Tensor from(Shape shape, std::span<const T> values);
    template <class T> static Tensor from(Shape shape, std::initializer_list<T> values) {
        return from<T>(std::move(shape), std::span<const T>(values.begin(), values.size()));
    }
    static Tensor scalar(DType dtype, double value) { return full(dtype, Shape{}, value); }
    static Tensor arange(DType dtype, std::int64_t n);
    static Tensor linspace(DType dtype, double start, double stop, std::int64_t n);
    // Deterministic random tensors: the same seed gives the same values on every machine.
    static Tensor randn(DType dtype, Shape shape, std::uint64_t seed);
    static Tensor rand(DType dtype, Shape shape, std::uint64_t seed);  // uniform in [0, 1)

    DType dtype() const { return dtype_; }
    const Shape& shape() const { return shape_; }
    int rank() const { return shape_.rank(); }
    std::int64_t numel() const { return shape_.numel(); }
    const std::vector<std::int64_t>& strides() const { return strides_; }
    // Worked out when the tensor is made: asked on every run of a program, for every tensor.
    bool is_contiguous() const { return contiguous_; }
    // True when this tensor and `other` share storage.
    bool shares_storage_with(const Tensor& other) const { return storage_ == other.storage_; }
    const std::shared_ptr<Storage>& storage() const { return storage_; }

    // Typed pointer to the first element; throws UserError if T does not match the dtype.
    template <class T> T* data();
    template <class T> const T* data() const;
    void* raw_data() { return storage_->data() + offset_ * static_cast<std::int64_t>(dtype_size(dtype_)); }
    const void* raw_data() const {
        return storage_->data() + offset_ * static_cast<std::int64_t>(dtype_size(dtype_));
    }

    // Element access by multi-index (any layout), converted to double. For tests and printing.
    double at(std::span<const std::int64_t> index) const;
    double at(std::initializer_list<std::int64_t> index) const {
        return at(std::span<const std::int64_t>(index.begin(), index.size()));
    }
    // Element by row-major flat index over the logical shape (any layout).
    double flat(std::int64_t i) const;
    // Values in row-major order as doubles.
    std::vector<double> to_doubles() const;

    // Views (no copy).
    Tensor broadcast_to(const Shape& shape) const;
    Tensor transpose(std::span<const int> perm) const;
    Tensor transpose() const;  // reverses the axes
    // A view when contiguous, else a copy.
    Tensor reshape(const Shape& shape) const;

    // Copies.
    Tensor contiguous() const;  // returns *this when already contiguous
    Tensor clone() const;       // always a fresh contiguous copy
    Tensor to(DType dtype) const;

private:
    Tensor(std::shared_ptr<Storage> storage, DType dtype, Shape shape, std::vector<std::int64_t> strides,
           std::int64_t offset);
    void check_dtype(DType wanted) const;
    bool row_major() const;  // strides are those of a contiguous tensor of this shape

    std::shared_ptr<Storage> storage_;
    DType dtype_ = DType::f32;
    Shape shape_;
    std::vector<std::int64_t> strides_;
    std::int64_t offset_ = 0;
    bool contiguous_ = true;
};

template <class T> T* Tensor::data() {
    check_dtype(dtype_of<T>());
    return static_cast<T*>(raw_data());
}
template <class T> const T* Tensor::data() const {
    check_dtype(dtype_of<T>());
    return static_cast<const T*>(raw_data());
}

// True when both have the same dtype and shape and identical values (NaN equals NaN).
bool bitwise_equal(const Tensor& a, const Tensor& b);

// Calls f(flat_offset_in_elements) for every element in row-major order of `shape`, where the
// offset follows `strides`. Used by the slow, general paths.
template <class F> void for_each_offset(const Shape& shape, std::span<const std::int64_t> strides, F&& f) {
    const int rank = shape.rank();
    if (shape.numel() == 0) return;
    std::vector<std::int64_t> index(static_cast<std::size_t>(rank), 0);
    std::int64_t offset = 0;
    for (;;) {
        f(offset);
        int d = rank - 1;
        for (; d >= 0; --d) {
            const auto ud = static_cast<std::size_t>(d);
            if (++index[ud] < shape[d]) {
                offset += strides[ud];
                break;
            }
            offset -= strides[ud] * (shape[d] - 1);
            index[ud] = 0;
        }
        if (d < 0) return;
    }
}

}  // namespace nnjit

// NumPy-like printing: tensor([[1, 2.5], [3, 4]], dtype=float32, shape=(2, 2)); tensors of
// more than 1000 elements show the first and last three entries of each dimension.
template <> struct fmt::formatter<nnjit::Tensor> {
    constexpr auto parse(fmt::format_parse_context& ctx) { return ctx.begin(); }
    fmt::format_context::iterator format(const nnjit::Tensor& t, fmt::format_context& ctx) const;
};
