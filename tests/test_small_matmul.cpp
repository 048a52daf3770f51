// Small matrix products (dsl/small_matmul.cpp): every path - dot products, one row, one
// column, outer products, BLAS - against a float64 reference, with padded row strides; and
// through both engines, which must compute them alike.
#include <catch2/catch.hpp>

#include <cmath>
#include <random>
#include <vector>

#include "kernels.hpp"
#include "nnjit/engine.hpp"
#include "nnjit/graph_ops.hpp"

using namespace nnjit;

namespace {

std::vector<float> random_floats(std::size_t n, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::vector<float> v(n);
    for (float& x : v) x = normal(rng);
    return v;
}

}  // namespace

TEST_CASE("small matmul: every path against a float64 reference, row strides padded or not", "[matmul]") {
    const std::int64_t sizes[] = {1, 2, 5, 16, 17, 33, 64};
    int checked = 0;
    for (std::int64_t m : sizes)
        for (std::int64_t n : sizes)
            for (std::int64_t k : sizes)
                for (int flags = 0; flags < 8; ++flags) {
                    const bool ta = flags & 1, tb = flags & 2, padded = flags & 4;
                    // Stored A is (k, m) when transposed, else (m, k); likewise B.
                    const std::int64_t a_rows = ta ? k : m, a_cols = ta ? m : k;
                    const std::int64_t b_rows = tb ? n : k, b_cols = tb ? k : n;
                    const std::int64_t lda = a_cols + (padded ? 3 : 0), ldb = b_cols + (padded ? 5 : 0);
                    const auto a = random_floats(static_cast<std::size_t>(a_rows * lda), 7);
                    const auto b = random_floats(static_cast<std::size_t>(b_rows * ldb), 8);
                    std::vector<float> c(static_cast<std::size_t>(m * n), NAN);
                    detail::small_matmul(DType::f32, ta, tb, m, n, k, a.data(), lda, b.data(), ldb, c.data());
                    auto A = [&](std::int64_t i, std::int64_t p) { return a[static_cast<std::size_t>(ta ? p * lda + i : i * lda + p)]; };
                    auto B = [&](std::int64_t p, std::int64_t j) { return b[static_cast<std::size_t>(tb ? j * ldb + p : p * ldb + j)]; };
                    for (std::int64_t i = 0; i < m; ++i)
                        for (std::int64_t j = 0; j < n; ++j) {
                            double exact = 0, magnitude = 0;
                            for (std::int64_t p = 0; p < k; ++p) {
                                exact += static_cast<double>(A(i, p)) * B(p, j);
                                magnitude += std::abs(static_cast<double>(A(i, p)) * B(p, j));
                            }
                            // A float32 sum of k products in any order is within about
                            // (k + 1) units of 2^-24 of the sum of their magnitudes.
                            const double bound = static_cast<double>(k + 1) * std::ldexp(magnitude, -24);
                            const double got = c[static_cast<std::size_t>(i * n + j)];
                            if (!(std::abs(got - exact) <= bound)) {
                                FAIL_CHECK("m " << m << " n " << n << " k " << k << " ta " << ta << " tb " << tb << " padded "
                                                << padded << " C(" << i << ", " << j << ") = " << got << ", exact " << exact);
                                return;
                            }
                        }
                    ++checked;
                }
    CHECK(checked == 7 * 7 * 7 * 8);
}

TEST_CASE("small matmul: an empty sum is zeros", "[matmul]") {
    std::vector<float> c(6, NAN);
    const float none = 0;
    detail::small_matmul(DType::f32, false, false, 2, 3, 0, &none, 1, &none, 3, c.data());
    for (float x : c) CHECK(x == 0.0f);
}

TEST_CASE("small matmul: the JIT and the interpreter compute small products bit for bit alike", "[matmul][jit]") {
    for (DType dtype : {DType::f32, DType::f64}) {
        Graph g;
        // A layer forward and its backward products: one row, one column, an outer product,
        // and products of tens of rows and columns (which go to BLAS).
        const Value x = g.input("x", dtype, Shape{32, 20});
        const Value w = g.parameter("w", dtype, Shape{20, 33});
        const Value v = g.parameter("v", dtype, Shape{33, 1});
        const Value row = g.input("row", dtype, Shape{1, 20});
        const Value h = matmul(x, w);
        const Value y = matmul(h, v);
        std::vector<Value> outs{h,
                                y,
                                matmul(transpose(x), h),     // (20, 33): A transposed
                                matmul(y, transpose(v)),     // (32, 33): k = 1, B transposed
                                matmul(h, transpose(w)),     // (32, 20): B transposed
                                matmul(transpose(h), y),     // (33, 1): one column, A transposed
                                matmul(row, w),              // (1, 33): one row
                                matmul(row, transpose(x))};  // (1, 32): one row, B transposed
        const Bindings bind{{"x", Tensor::randn(dtype, Shape{32, 20}, 1)},
                            {"w", Tensor::randn(dtype, Shape{20, 33}, 2)},
                            {"v", Tensor::randn(dtype, Shape{33, 1}, 3)},
                            {"row", Tensor::randn(dtype, Shape{1, 20}, 4)}};
        const auto interp = compile(outs, Backend::interp)->run(bind);
        const auto jit = compile(outs, Backend::jit)->run(bind);
        for (std::size_t k = 0; k < outs.size(); ++k) {
            INFO(fmt::format("{} output {}", dtype, k));
            CHECK(bitwise_equal(interp[k], jit[k]));
        }
    }
}
