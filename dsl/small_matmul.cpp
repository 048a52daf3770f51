// Small matrix products: the products of a small network's layers (tens of rows and columns)
// take a microsecond or two, so what a call costs around the arithmetic matters as much as
// the arithmetic. They run on raw pointers, with no tensor made or inspected:
//
// - float32: one register-blocked loop nest written here. Each step broadcasts an element
//   of A and multiplies it into up to four 16-lane vectors of a row of B, accumulating a
//   block of up to 4 rows x 64 columns of C in registers. B must have contiguous rows: a
//   transposed B (a backward pass's dZ @ W^T) is copied transposed into a per-thread buffer
//   first; a one-column C is computed as its transpose or as dot products, whichever reads
//   contiguous memory. Measured on one thread of the project's Zen 4 against OpenBLAS 0.3.21
//   (whose small-matrix kernels these shapes reach): see bench/ or the commit that added it.
// - float64, and anything the loops above do not fit (a B neither row- nor
//   column-contiguous): BLAS.
//
// Sums run over k in order, one fused multiply-add per term (this file is compiled with
// contraction on, as BLAS is), so every element of C is computed the same way whichever
// block or tail it falls in.
#include <cblas.h>

#include <algorithm>
#include <cstring>

#include "kernels.hpp"

namespace nnjit::detail {
namespace {

// Up to this many multiply-adds a product is small: the largest product of a 64-wide layer at
// batch 64 (64 * 64 * 64), well below where oneDNN takes over (dsl/matmul_kernel.cpp).
constexpr std::int64_t kSmallMatmulMacs = std::int64_t{1} << 18;

constexpr int kLanes = 16;      // floats per vector (one AVX-512 register)
constexpr int kMaxVectors = 4;  // vectors of C per row in a block
constexpr int kBlockRows = 4;   // rows of C per block

typedef float Vec __attribute__((vector_size(kLanes * sizeof(float))));

Vec load(const float* p) {
    Vec v;
    std::memcpy(&v, p, sizeof v);
    return v;
}
void store(float* p, Vec v) { std::memcpy(p, &v, sizeof v); }

// A (m, k) read through strides: A(i, p) = a[i * row + p * col]; covers A and A^T.
struct Strided {
    const float* a;
    std::int64_t row, col;
    float operator()(std::int64_t i, std::int64_t p) const { return a[i * row + p * col]; }
};

// c[i, j0 .. j0 + 16 V) for `Rows` rows from i0: the block's accumulators stay in registers.
template <int Rows, int V>
void block(Strided a, std::int64_t i0, const float* b, std::int64_t ldb, std::int64_t k, float* c, std::int64_t ldc) {
    Vec acc[Rows][V] = {};
    for (std::int64_t p = 0; p < k; ++p) {
        Vec bv[V];
        for (int v = 0; v < V; ++v) {
            bv[v] = load(b + p * ldb + v * kLanes);
            // Kept in a register: else the compiler reads it again from memory for every row.
            // (A 64-byte vector fits one register only with AVX-512: elsewhere, as in a build
            // with -DNNJIT_NATIVE=OFF, the compiler splits it and places it itself.)
#ifdef __AVX512F__
            asm("" : "+v"(bv[v]));
#endif
        }
        for (int r = 0; r < Rows; ++r) {
            const float x = a(i0 + r, p);
            for (int v = 0; v < V; ++v) acc[r][v] += x * bv[v];
        }
    }
    for (int r = 0; r < Rows; ++r)
        for (int v = 0; v < V; ++v) store(c + (i0 + r) * ldc + v * kLanes, acc[r][v]);
}

// Columns [j0, j0 + 16 V) of every row of C.
template <int V>
void column_panel(Strided a, std::int64_t m, const float* b, std::int64_t ldb, std::int64_t k, float* c, std::int64_t ldc) {
    std::int64_t i = 0;
    for (; i + kBlockRows <= m; i += kBlockRows) block<kBlockRows, V>(a, i, b, ldb, k, c, ldc);
    for (; i < m; ++i) block<1, V>(a, i, b, ldb, k, c, ldc);
}

// c (m, n) = A b with b (k, n) row-contiguous (row stride ldb).
void rows_of_b(Strided a, std::int64_t m, std::int64_t n, std::int64_t k, const float* b, std::int64_t ldb, float* c) {
    std::int64_t j = 0;
    for (; j + kMaxVectors * kLanes <= n; j += kMaxVectors * kLanes) column_panel<kMaxVectors>(a, m, b + j, ldb, k, c + j, n);
    switch ((n - j) / kLanes) {
    case 3: column_panel<3>(a, m, b + j, ldb, k, c + j, n); break;
    case 2: column_panel<2>(a, m, b + j, ldb, k, c + j, n); break;
    case 1: column_panel<1>(a, m, b + j, ldb, k, c + j, n); break;
    default: break;
    }
    j += (n - j) / kLanes * kLanes;
    for (std::int64_t i = 0; i < m; ++i)  // the last n % 16 columns
        for (std::int64_t jj = j; jj < n; ++jj) {
            float s = 0;
            for (std::int64_t p = 0; p < k; ++p) s += a(i, p) * b[p * ldb + jj];
            c[i * n + jj] = s;
        }
}

// The lanes added pairwise, halves first: lanes l and l + 8, then l and l + 4, ...
float sum_lanes(Vec v) {
    typedef float Half __attribute__((vector_size(8 * sizeof(float))));
    typedef float Quarter __attribute__((vector_size(4 * sizeof(float))));
    const Half h = __builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7) +
                   __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15);
    const Quarter q = __builtin_shufflevector(h, h, 0, 1, 2, 3) + __builtin_shufflevector(h, h, 4, 5, 6, 7);
    return (q[0] + q[2]) + (q[1] + q[3]);
}

// c[i] = sum_p a[i * lda + p] x[p]: rows of A against one contiguous vector. Lane l sums
// the terms p = l (mod 16), then the lanes are added (sum_lanes), then the last k % 16 terms.
void dot_rows(const float* a, std::int64_t lda, std::int64_t m, std::int64_t k, const float* x, float* c) {
    const std::int64_t full = k / kLanes * kLanes;
    for (std::int64_t i = 0; i < m; ++i) {
        const float* row = a + i * lda;
        Vec acc = {};
        for (std::int64_t p = 0; p < full; p += kLanes) acc += load(row + p) * load(x + p);
        float s = sum_lanes(acc);
        for (std::int64_t p = full; p < k; ++p) s += row[p] * x[p];
        c[i] = s;
    }
}

// True when the product was one of the shapes the loops here do better than BLAS: one
// column of C, one row of C, or a sum of one term (an outer product) - where BLAS's kernels,
// made for blocks of many rows and columns, run mostly empty. For the others (tens of rows
// and columns) OpenBLAS's small-matrix kernels are 5-15% faster than block() above.
bool small_sgemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, const float* a,
                 std::int64_t lda, const float* b, std::int64_t ldb, float* c) {
    // Which reads are contiguous: A's rows (a[i * lda + p]), B's rows (b[p * ldb + j]), and
    // for one column of B, that column.
    const bool a_rows = !trans_a || (m == 1 && lda == 1);
    const bool b_rows = !trans_b || (k == 1 && ldb == 1);
    const bool b_column = trans_b || ldb == 1;
    if (n == 1 && a_rows && b_column) {  // dot products of A's rows with B's column
        dot_rows(a, lda, m, k, b, c);
        return true;
    }
    if (n == 1 && trans_a) {  // c^T (1, m) = B^T (1, k) A^T (k, m), A^T row-contiguous
        rows_of_b(trans_b ? Strided{b, 0, 1} : Strided{b, 0, ldb}, 1, m, k, a, lda, c);
        return true;
    }
    if (m == 1 && a_rows && trans_b) {  // one row: dot products of B^T's rows with A's row
        dot_rows(b, ldb, n, k, a, c);
        return true;
    }
    if ((m == 1 || k == 1) && b_rows) {
        rows_of_b(trans_a ? Strided{a, 1, lda} : Strided{a, lda, 1}, m, n, k, b, trans_b ? 0 : ldb, c);
        return true;
    }
    return false;
}

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
    if (dtype == DType::f32) {
        const auto* af = static_cast<const float*>(a);
        const auto* bf = static_cast<const float*>(b);
        auto* cf = static_cast<float*>(c);
        if (!small_sgemm(trans_a, trans_b, m, n, k, af, lda, bf, ldb, cf))
            cblas_sgemm(CblasRowMajor, ta, tb, static_cast<blasint>(m), static_cast<blasint>(n), static_cast<blasint>(k),
                        1.0f, af, static_cast<blasint>(lda), bf, static_cast<blasint>(ldb), 0.0f, cf,
                        static_cast<blasint>(n));
        return;
    }
    cblas_dgemm(CblasRowMajor, ta, tb, static_cast<blasint>(m), static_cast<blasint>(n), static_cast<blasint>(k), 1.0,
                static_cast<const double*>(a), static_cast<blasint>(lda), static_cast<const double*>(b),
                static_cast<blasint>(ldb), 0.0, static_cast<double*>(c), static_cast<blasint>(n));
}

}  // namespace nnjit::detail
