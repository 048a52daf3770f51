// Small matrix products: the products of a small network's layers (tens of rows and columns)
// take a microsecond or two, so what a call costs around the arithmetic matters as much as
// the arithmetic. They go to BLAS on raw pointers, with no tensor made or inspected.
#include <cblas.h>

#include <cstring>

#include "kernels.hpp"

namespace nnjit::detail {
namespace {

// Up to this many multiply-adds a product is small: the largest product of a 64-wide layer at
// batch 64 (64 * 64 * 64), well below where oneDNN takes over (dsl/matmul_kernel.cpp).
constexpr std::int64_t kSmallMatmulMacs = std::int64_t{1} << 18;

}  // namespace

bool is_small_matmul(std::int64_t m, std::int64_t n, std::int64_t k) {
    std::int64_t mn = 0, mnk = 0;
    return !__builtin_mul_overflow(m, n, &mn) && !__builtin_mul_overflow(mn, k, &mnk) && mnk <= kSmallMatmulMacs;
}

void small_matmul(DType dtype, bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k,
                  const void* a, std::int64_t lda, const void* b, std::int64_t ldb, void* c) {
    if (m == 0 || n == 0) return;
    if (k == 0) {  // an empty sum: zeros
        std::memset(c, 0, static_cast<std::size_t>(m * n) * dtype_size(dtype));
        return;
    }
    const CBLAS_TRANSPOSE ta = trans_a ? CblasTrans : CblasNoTrans, tb = trans_b ? CblasTrans : CblasNoTrans;
    const auto M = static_cast<blasint>(m), N = static_cast<blasint>(n), K = static_cast<blasint>(k);
    const auto LDA = static_cast<blasint>(lda), LDB = static_cast<blasint>(ldb);
    if (dtype == DType::f32)
        cblas_sgemm(CblasRowMajor, ta, tb, M, N, K, 1.0f, static_cast<const float*>(a), LDA,
                    static_cast<const float*>(b), LDB, 0.0f, static_cast<float*>(c), N);
    else
        cblas_dgemm(CblasRowMajor, ta, tb, M, N, K, 1.0, static_cast<const double*>(a), LDA,
                    static_cast<const double*>(b), LDB, 0.0, static_cast<double*>(c), N);
}

}  // namespace nnjit::detail
