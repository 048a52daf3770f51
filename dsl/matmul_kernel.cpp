// 2-D matrix product through BLAS, also accumulating into a matrix with BLAS's alpha and
// beta (matmul_acc). Transposed views are passed as BLAS transposes rather than copied.
// Large float32 products go to oneDNN's sgemm when nnjit was configured with it
// (libdnnl-dev installed, NNJIT_USE_DNNL): measured on one thread of this project's AMD EPYC
// (znver5), the products of a 784-512-512-10 training step at batch 256 took 7.6 ms with
// oneDNN 2.6 against 8.7 ms with OpenBLAS 0.3.21 (BLIS 0.9: 9.3 ms), while OpenBLAS is the
// faster on small products (32-64-64-1 at batch 32: 11 against 14 us) and is the only one
// with float64.
#include <cblas.h>

#include <cstring>
#include <mutex>

#include <fmt/format.h>
#ifdef NNJIT_HAVE_DNNL
#include <omp.h>
#include <oneapi/dnnl/dnnl.h>
#endif

#include "kernels.hpp"
#include "nnjit/error.hpp"
#include "nnjit/thread_policy.hpp"

namespace nnjit::detail {
namespace {

// A BLAS view of a 2-D tensor: row-major with a leading dimension, possibly transposed.
struct BlasOperand {
    Tensor storage;
    CBLAS_TRANSPOSE trans;
    blasint ld;
};

// From this many multiply-adds (m * n * k) on, oneDNN (between the two sizes measured above),
// and OpenBLAS may use more than one thread.
constexpr std::int64_t kParallelProduct = std::int64_t{1} << 22;

// OpenBLAS (Debian's default build runs its own pthreads) keeps its workers yield-spinning
// for ~0.1 s after a threaded call, on the core that nnjit's OpenMP regions want next; its
// default is a thread per core from a few hundred thousand multiply-adds on. Below
// kParallelProduct the calling thread does the product alone. The setting is one for the
// process (concurrent products may run with each other's: a matter of speed, never of the
// result), so it is changed only when it differs.
void set_openblas_threads(int threads) {
    static std::mutex mutex;
    static int current = 0;
    const std::lock_guard lock(mutex);
    if (current != threads) openblas_set_num_threads(current = threads);
}

#ifdef NNJIT_HAVE_DNNL
char dnnl_trans(CBLAS_TRANSPOSE t) { return t == CblasTrans ? 'T' : 'N'; }
#endif

template <class T> void scale(T* data, std::int64_t count, T factor) {
    for (std::int64_t i = 0; i < count; ++i) data[i] *= factor;
}

// Copies src (any layout) into the contiguous `out` of the same shape and dtype.
void copy_into(const Tensor& src, Tensor& out) {
    const std::size_t elem = dtype_size(out.dtype());
    if (src.is_contiguous()) {
        std::memcpy(out.raw_data(), src.raw_data(), static_cast<std::size_t>(out.numel()) * elem);
        return;
    }
    const auto* from = static_cast<const std::byte*>(src.raw_data());
    auto* to = static_cast<std::byte*>(out.raw_data());
    for_each_offset(src.shape(), src.strides(), [&](std::int64_t offset) {
        std::memcpy(to, from + offset * static_cast<std::int64_t>(elem), elem);
        to += elem;
    });
}

BlasOperand as_blas(const Tensor& t) {
    const auto& s = t.strides();
    const std::int64_t rows = t.shape()[0], cols = t.shape()[1];
    if (s[1] == 1 && s[0] >= std::max<std::int64_t>(cols, 1)) return {t, CblasNoTrans, static_cast<blasint>(s[0])};
    if (s[0] == 1 && s[1] >= std::max<std::int64_t>(rows, 1)) return {t, CblasTrans, static_cast<blasint>(s[1])};
    Tensor c = t.contiguous();
    return {c, CblasNoTrans, static_cast<blasint>(std::max<std::int64_t>(cols, 1))};
}

// out = alpha * (a @ b) + beta * out.
void gemm(const Tensor& a, const Tensor& b, double alpha, double beta, Tensor& out) {
    const std::int64_t m = a.shape()[0], k = a.shape()[1], n = b.shape()[1];
    if (m == 0 || n == 0) return;
    if (k == 0) {  // an empty sum: beta * out
        if (beta == 0) std::memset(out.raw_data(), 0, static_cast<std::size_t>(m * n) * dtype_size(out.dtype()));
        else if (out.dtype() == DType::f32) scale(out.data<float>(), m * n, static_cast<float>(beta));
        else scale(out.data<double>(), m * n, beta);
        return;
    }
    const auto A = as_blas(a), B = as_blas(b);
    if (alpha == 1 && beta == 0 && is_small_matmul(m, n, k)) {  // the JIT executor's path for plain small products
        small_matmul(a.dtype(), A.trans == CblasTrans, B.trans == CblasTrans, m, n, k, A.storage.raw_data(), A.ld,
                     B.storage.raw_data(), B.ld, out.raw_data());
        return;
    }
    const auto M = static_cast<blasint>(m), N = static_cast<blasint>(n), K = static_cast<blasint>(k);
    const auto ldc = static_cast<blasint>(n);
    const auto alpha32 = static_cast<float>(alpha), beta32 = static_cast<float>(beta);
#ifdef NNJIT_HAVE_DNNL
    if (a.dtype() == DType::f32 && m * n * k >= kParallelProduct) {
        // oneDNN runs on OpenMP with omp_get_max_threads(): the same policy as the JIT's
        // kernels (no more threads than idle cores, none left spinning afterwards; inside a
        // caller's own parallel region, none but the calling thread).
        const int threads = omp_in_parallel() ? 1 : useful_threads(), limit = omp_get_max_threads();
        omp_set_num_threads(threads);
        const dnnl_status_t status = dnnl_sgemm(dnnl_trans(A.trans), dnnl_trans(B.trans), m, n, k, alpha32,
                                                A.storage.data<float>(), A.ld, B.storage.data<float>(), B.ld, beta32,
                                                out.data<float>(), ldc);
        omp_set_num_threads(limit);
        if (threads > 1) parallel_region_done();
        if (status != dnnl_success)
            throw InternalError(fmt::format("oneDNN sgemm of ({}, {}) x ({}, {}) failed with status {}", m, k, k, n,
                                            static_cast<int>(status)));
        return;
    }
#endif
    set_openblas_threads(m * n * k >= kParallelProduct ? useful_threads() : 1);
    if (a.dtype() == DType::f32)
        cblas_sgemm(CblasRowMajor, A.trans, B.trans, M, N, K, alpha32, A.storage.data<float>(), A.ld,
                    B.storage.data<float>(), B.ld, beta32, out.data<float>(), ldc);
    else
        cblas_dgemm(CblasRowMajor, A.trans, B.trans, M, N, K, alpha, A.storage.data<double>(), A.ld,
                    B.storage.data<double>(), B.ld, beta, out.data<double>(), ldc);
}

}  // namespace

void matmul_kernel(const Tensor& a, const Tensor& b, Tensor& out) { gemm(a, b, 1.0, 0.0, out); }

void matmul_acc_kernel(const Tensor& a, const Tensor& b, const Tensor& c, const Tensor& s, double beta, Tensor& out) {
    // BLAS accumulates into its output: out starts as c (nothing to copy when it is c).
    if (!(c.is_contiguous() && c.raw_data() == out.raw_data())) copy_into(c, out);
    gemm(a, b, s.flat(0), beta, out);
}

}  // namespace nnjit::detail
