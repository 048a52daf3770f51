// 2-D matrix product through BLAS. Transposed views are passed as BLAS transposes rather
// than copied.
#include <cblas.h>

#include <cstring>

#include "kernels.hpp"
#include "nnjit/error.hpp"

namespace nnjit::detail {
namespace {

// A BLAS view of a 2-D tensor: row-major with a leading dimension, possibly transposed.
struct BlasOperand {
    Tensor storage;
    CBLAS_TRANSPOSE trans;
    blasint ld;
};

BlasOperand as_blas(const Tensor& t) {
    const auto& s = t.strides();
    const std::int64_t rows = t.shape()[0], cols = t.shape()[1];
    if (s[1] == 1 && s[0] >= std::max<std::int64_t>(cols, 1)) return {t, CblasNoTrans, static_cast<blasint>(s[0])};
    if (s[0] == 1 && s[1] >= std::max<std::int64_t>(rows, 1)) return {t, CblasTrans, static_cast<blasint>(s[1])};
    Tensor c = t.contiguous();
    return {c, CblasNoTrans, static_cast<blasint>(std::max<std::int64_t>(cols, 1))};
}

}  // namespace

void matmul_kernel(const Tensor& a, const Tensor& b, Tensor& out) {
    const std::int64_t m = a.shape()[0], k = a.shape()[1], n = b.shape()[1];
    if (m == 0 || n == 0) return;
    if (k == 0) {  // an empty sum: zeros
        std::memset(out.raw_data(), 0, static_cast<std::size_t>(m * n) * dtype_size(out.dtype()));
        return;
    }
    const auto A = as_blas(a), B = as_blas(b);
    const auto M = static_cast<blasint>(m), N = static_cast<blasint>(n), K = static_cast<blasint>(k);
    const auto ldc = static_cast<blasint>(n);
    if (a.dtype() == DType::f32)
        cblas_sgemm(CblasRowMajor, A.trans, B.trans, M, N, K, 1.0f, A.storage.data<float>(), A.ld,
                    B.storage.data<float>(), B.ld, 0.0f, out.data<float>(), ldc);
    else
        cblas_dgemm(CblasRowMajor, A.trans, B.trans, M, N, K, 1.0, A.storage.data<double>(), A.ld,
                    B.storage.data<double>(), B.ld, 0.0, out.data<double>(), ldc);
}

}  // namespace nnjit::detail
