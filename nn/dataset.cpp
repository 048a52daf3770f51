#include "nnjit/nn/dataset.hpp"

#include <cmath>
#include <cstring>

#include "nnjit/error.hpp"
#include "nnjit/nn/seed.hpp"

namespace nnjit::nn {

Tensor one_hot(const Tensor& labels, std::int64_t classes, DType dtype) {
    if (classes <= 0) throw UserError(fmt::format("one_hot: the number of classes must be positive, got {}", classes));
    const std::int64_t n = labels.numel();
    Tensor out = Tensor::zeros(dtype, Shape{n, classes});
    for (std::int64_t i = 0; i < n; ++i) {
        const double v = labels.flat(i);
        if (!(v >= 0 && v < static_cast<double>(classes)) || v != std::floor(v))
            throw UserError(fmt::format("one_hot: label {} at position {} is not a class in [0, {})", v, i, classes));
        const auto k = static_cast<std::int64_t>(v);
        if (dtype == DType::f32) out.data<float>()[i * classes + k] = 1.0f;
        else out.data<double>()[i * classes + k] = 1.0;
    }
    return out;
}

void gather_rows(const Tensor& source, std::span<const std::int64_t> rows, Tensor& batch) {
    if (source.rank() < 1 || batch.rank() != source.rank() || batch.dtype() != source.dtype() ||
        batch.shape()[0] != static_cast<std::int64_t>(rows.size()) || !batch.is_contiguous())
        throw UserError(fmt::format("gather_rows: {} rows of a {} {} do not fit a batch {} {}", rows.size(),
                                    source.dtype(), source.shape(), batch.dtype(), batch.shape()));
    for (int d = 1; d < source.rank(); ++d)
        if (source.shape()[d] != batch.shape()[d])
            throw UserError(fmt::format("gather_rows: rows of shape {} do not fit a batch of shape {}", source.shape(),
                                        batch.shape()));
    const Tensor src = source.contiguous();
    const std::int64_t n = src.shape()[0];
    const std::size_t row_bytes = static_cast<std::size_t>(n == 0 ? 0 : src.numel() / n) * dtype_size(src.dtype());
    const auto* from = static_cast<const std::byte*>(src.raw_data());
    auto* to = static_cast<std::byte*>(batch.raw_data());
    for (std::size_t i = 0; i < rows.size(); ++i) {
        if (rows[i] < 0 || rows[i] >= n)
            throw UserError(fmt::format("gather_rows: row {} is out of range for {} rows", rows[i], n));
        std::memcpy(to + i * row_bytes, from + static_cast<std::size_t>(rows[i]) * row_bytes, row_bytes);
    }
}

std::vector<std::int64_t> argmax_rows(const Tensor& t) {
    if (t.rank() != 2) throw UserError(fmt::format("argmax_rows: needs a 2-D tensor, got shape {}", t.shape()));
    const Tensor c = t.contiguous().to(DType::f64);
    const std::int64_t rows = t.shape()[0], cols = t.shape()[1];
    std::vector<std::int64_t> out(static_cast<std::size_t>(rows), 0);
    const double* p = c.data<double>();
    for (std::int64_t i = 0; i < rows; ++i) {
        std::int64_t best = 0;
        for (std::int64_t j = 1; j < cols; ++j)
            if (p[i * cols + j] > p[i * cols + best]) best = j;
        out[static_cast<std::size_t>(i)] = best;
    }
    return out;
}

std::int64_t count_correct(const Tensor& output, const Tensor& target) {
    if (output.rank() != 2 || output.shape() != target.shape())
        throw UserError(fmt::format("count_correct: output and target must be 2-D of one shape, got {} and {}",
                                    output.shape(), target.shape()));
    std::int64_t correct = 0;
    if (output.shape()[1] == 1) {
        for (std::int64_t i = 0; i < output.shape()[0]; ++i)
            correct += (output.flat(i) > 0) == (target.flat(i) > 0.5);
        return correct;
    }
    const auto a = argmax_rows(output), b = argmax_rows(target);
    for (std::size_t i = 0; i < a.size(); ++i) correct += a[i] == b[i];
    return correct;
}

std::vector<std::int64_t> permutation(std::int64_t n, std::uint64_t seed) {
    std::vector<std::int64_t> p(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) p[static_cast<std::size_t>(i)] = i;
    std::uint64_t state = seed;
    for (std::int64_t i = n - 1; i > 0; --i) {
        state = splitmix64(state);
        // The modulo's bias is below n / 2^64, far below anything a shuffle notices.
        const auto j = static_cast<std::int64_t>(state % static_cast<std::uint64_t>(i + 1));
        std::swap(p[static_cast<std::size_t>(i)], p[static_cast<std::size_t>(j)]);
    }
    return p;
}

}  // namespace nnjit::nn
