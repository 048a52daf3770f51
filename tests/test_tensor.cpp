#include <catch2/catch.hpp>

#include "nnjit/error.hpp"
#include "nnjit/tensor.hpp"

using namespace nnjit;

TEST_CASE("tensor: views share storage and index correctly", "[tensor]") {
    const Tensor t = Tensor::arange(DType::f32, 6).reshape(Shape{2, 3});
    REQUIRE(t.at({1, 2}) == 5.0);
    const Tensor tt = t.transpose();
    CHECK(tt.shape() == Shape{3, 2});
    CHECK(tt.at({2, 1}) == 5.0);
    CHECK(tt.shares_storage_with(t));
    CHECK_FALSE(tt.is_contiguous());
    const Tensor b = Tensor::arange(DType::f64, 3).broadcast_to(Shape{4, 3});
    CHECK(b.strides()[0] == 0);
    CHECK(b.at({3, 2}) == 2.0);
}

#include <cmath>
#include <cstdint>
#include <limits>

using Catch::Matchers::Contains;

namespace {
bool aligned64(const void* p) { return reinterpret_cast<std::uintptr_t>(p) % 64 == 0; }
}  // namespace

TEST_CASE("tensor: the formatter prints like NumPy", "[tensor][format]") {
    CHECK(fmt::format("{}", Tensor::scalar(DType::f64, 3.5)) == "tensor(3.5, dtype=float64, shape=())");
    CHECK(fmt::format("{}", Tensor::from<float>(Shape{3}, {1, 2.5f, -3})) ==
          "tensor([1, 2.5, -3], dtype=float32, shape=(3,))");
    // Rows on their own lines, aligned under the first '[' as NumPy does.
    CHECK(fmt::format("{}", Tensor::from<float>(Shape{2, 2}, {1, 2.5f, 3, 4})) ==
          "tensor([[1, 2.5],\n"
          "        [3, 4]], dtype=float32, shape=(2, 2))");
    // A blank line between the 2-D blocks of a 3-D tensor.
    CHECK(fmt::format("{}", Tensor::arange(DType::f64, 8).reshape(Shape{2, 2, 2})) ==
          "tensor([[[0, 1],\n"
          "         [2, 3]],\n"
          "\n"
          "        [[4, 5],\n"
          "         [6, 7]]], dtype=float64, shape=(2, 2, 2))");
    CHECK(fmt::format("{}", Tensor::zeros(DType::f32, Shape{0})) == "tensor([], dtype=float32, shape=(0,))");
    // Special values and 8 significant digits (float32 0.1 is 0.100000001...).
    const double inf = std::numeric_limits<double>::infinity();
    CHECK(fmt::format("{}", Tensor::from<double>(Shape{4}, {std::nan(""), inf, -inf, 1.0 / 3})) ==
          "tensor([nan, inf, -inf, 0.33333333], dtype=float64, shape=(4,))");
    CHECK(fmt::format("{}", Tensor::scalar(DType::f32, 0.1)) == "tensor(0.1, dtype=float32, shape=())");
    // Views print their logical contents.
    CHECK(fmt::format("{}", Tensor::arange(DType::f32, 4).reshape(Shape{2, 2}).transpose()) ==
          "tensor([[0, 2],\n"
          "        [1, 3]], dtype=float32, shape=(2, 2))");
}

TEST_CASE("tensor: large tensors are abbreviated with ... above 1000 elements", "[tensor][format]") {
    // Exactly 1000 elements: printed in full (NumPy's threshold).
    const std::string full = fmt::format("{}", Tensor::arange(DType::f32, 1000));
    CHECK_THAT(full, !Contains("..."));
    CHECK_THAT(full, Contains(", 500, "));
    CHECK(fmt::format("{}", Tensor::arange(DType::f32, 1001)) ==
          "tensor([0, 1, 2, ..., 998, 999, 1000], dtype=float32, shape=(1001,))");
    const std::string rows = fmt::format("{}", Tensor::arange(DType::f64, 40 * 30).reshape(Shape{40, 30}));
    CHECK(rows ==
          "tensor([[0, 1, 2, ..., 27, 28, 29],\n"
          "        [30, 31, 32, ..., 57, 58, 59],\n"
          "        [60, 61, 62, ..., 87, 88, 89],\n"
          "        ...,\n"
          "        [1110, 1111, 1112, ..., 1137, 1138, 1139],\n"
          "        [1140, 1141, 1142, ..., 1167, 1168, 1169],\n"
          "        [1170, 1171, 1172, ..., 1197, 1198, 1199]], dtype=float64, shape=(40, 30))");
    // A huge tensor prints quickly and briefly: only the edges are visited.
    const std::string big = fmt::format("{}", Tensor::zeros(DType::f32, Shape{1000, 1000}));
    CHECK(big.size() < 300);
}

TEST_CASE("tensor: broadcast, transpose and reshape are views on the same storage", "[tensor]") {
    Tensor base = Tensor::arange(DType::f32, 6);
    const Tensor r = base.reshape(Shape{2, 3});
    const Tensor t = r.transpose();
    const Tensor b = base.reshape(Shape{1, 6}).broadcast_to(Shape{4, 6});
    CHECK(r.shares_storage_with(base));
    CHECK(t.shares_storage_with(base));
    CHECK(b.shares_storage_with(base));
    CHECK(b.strides() == std::vector<std::int64_t>{0, 1});
    CHECK(t.strides() == std::vector<std::int64_t>{1, 3});
    // A write through the base is seen by every view.
    base.data<float>()[4] = 40;
    CHECK(r.at({1, 1}) == 40);
    CHECK(t.at({1, 1}) == 40);
    CHECK(b.at({3, 4}) == 40);
    // Reshaping a non-contiguous view has to copy.
    const Tensor rt = t.reshape(Shape{6});
    CHECK_FALSE(rt.shares_storage_with(base));
    CHECK(rt.to_doubles() == std::vector<double>{0, 3, 1, 40, 2, 5});
    // Transposing with a permutation, and twice back.
    const Tensor x = Tensor::arange(DType::f64, 24).reshape(Shape{2, 3, 4});
    const int perm[] = {2, 0, 1};
    const Tensor p = x.transpose(perm);
    CHECK(p.shape() == Shape{4, 2, 3});
    CHECK(p.at({3, 1, 2}) == x.at({1, 2, 3}));
    CHECK(p.transpose().transpose().at({3, 1, 2}) == x.at({1, 2, 3}));
    // contiguous() keeps contiguous data, clone() never shares.
    CHECK(r.contiguous().shares_storage_with(base));
    CHECK_FALSE(t.contiguous().shares_storage_with(base));
    CHECK_FALSE(r.clone().shares_storage_with(base));
    CHECK(t.contiguous().to_doubles() == t.to_doubles());
}

TEST_CASE("tensor: to(dtype) converts and copies", "[tensor]") {
    const Tensor d = Tensor::from<double>(Shape{3}, {0.1, 1e40, -2.5});
    const Tensor f = d.to(DType::f32);
    CHECK(f.dtype() == DType::f32);
    CHECK(f.flat(0) == static_cast<double>(0.1f));
    CHECK(f.flat(1) == std::numeric_limits<double>::infinity());  // beyond float32's range
    CHECK(f.flat(2) == -2.5);
    CHECK(f.to(DType::f64).to_doubles() == std::vector<double>{static_cast<double>(0.1f), f.flat(1), -2.5});
    const Tensor same = d.to(DType::f64);
    CHECK_FALSE(same.shares_storage_with(d));
    CHECK(bitwise_equal(same, d));
    // Converting a view converts its logical contents.
    const Tensor v = Tensor::arange(DType::f64, 6).reshape(Shape{2, 3}).transpose().to(DType::f32);
    CHECK(v.is_contiguous());
    CHECK(v.to_doubles() == std::vector<double>{0, 3, 1, 4, 2, 5});
}

TEST_CASE("tensor: random tensors are deterministic by seed", "[tensor]") {
    for (DType dtype : {DType::f32, DType::f64}) {
        CHECK(bitwise_equal(Tensor::randn(dtype, Shape{3, 5}, 42), Tensor::randn(dtype, Shape{3, 5}, 42)));
        CHECK(bitwise_equal(Tensor::rand(dtype, Shape{7}, 9), Tensor::rand(dtype, Shape{7}, 9)));
        CHECK_FALSE(bitwise_equal(Tensor::randn(dtype, Shape{3, 5}, 42), Tensor::randn(dtype, Shape{3, 5}, 43)));
        CHECK_FALSE(bitwise_equal(Tensor::rand(dtype, Shape{7}, 9), Tensor::rand(dtype, Shape{7}, 10)));
    }
    // The distributions: uniform in [0, 1), and standard normal. With 100000 samples the
    // standard error of the mean is 1/sqrt(12e5) ~ 0.0009 (uniform) and 0.0032 (normal):
    // the bounds below are over 5 standard errors, and the seed is fixed, so no flakiness.
    const auto u = Tensor::rand(DType::f32, Shape{100000}, 1).to_doubles();
    double lo = 1, hi = 0, mean_u = 0;
    for (double v : u) {
        lo = std::min(lo, v);
        hi = std::max(hi, v);
        mean_u += v / static_cast<double>(u.size());
    }
    CHECK(lo >= 0.0);
    CHECK(hi < 1.0);
    CHECK(std::abs(mean_u - 0.5) < 0.005);
    const auto n = Tensor::randn(DType::f64, Shape{100000}, 2).to_doubles();
    double mean = 0, sq = 0;
    for (double v : n) mean += v / static_cast<double>(n.size());
    for (double v : n) sq += (v - mean) * (v - mean) / static_cast<double>(n.size());
    CHECK(std::abs(mean) < 0.02);
    CHECK(std::abs(std::sqrt(sq) - 1.0) < 0.02);  // the standard error of the std is ~0.0022
}

TEST_CASE("tensor: storage is 64-byte aligned", "[tensor]") {
    for (DType dtype : {DType::f32, DType::f64}) {
        for (std::int64_t n : {0, 1, 3, 17, 1000, 4 * 1024 * 1024}) {
            INFO(n);
            CHECK(aligned64(Tensor::empty(dtype, Shape{n}).raw_data()));
            CHECK(aligned64(Tensor::zeros(dtype, Shape{n}).raw_data()));
            CHECK(aligned64(Tensor::full(dtype, Shape{n}, 1.0).raw_data()));
        }
        const Tensor x = Tensor::randn(dtype, Shape{5, 3}, 1);
        CHECK(aligned64(x.raw_data()));
        CHECK(aligned64(x.transpose().contiguous().raw_data()));
        CHECK(aligned64(x.clone().raw_data()));
        CHECK(aligned64(x.to(DType::f32).raw_data()));
        CHECK(aligned64(x.to(DType::f64).raw_data()));
    }
    CHECK(aligned64(Tensor::from<float>(Shape{3}, {1, 2, 3}).raw_data()));
}

TEST_CASE("tensor: misuse is a UserError that names the problem", "[tensor][error]") {
    CHECK_THROWS_WITH(Tensor::from<float>(Shape{2, 2}, {1, 2, 3}),
                      Contains("3 values given for a tensor of shape (2, 2) (4 elements)"));
    const Tensor t = Tensor::zeros(DType::f32, Shape{2, 3});
    CHECK_THROWS_WITH(t.at({2, 0}), Contains("index 2 is out of range for dimension 0 of shape (2, 3)"));
    CHECK_THROWS_WITH(t.at({1}), Contains("index of rank 1 used on a tensor of shape (2, 3)"));
    CHECK_THROWS_WITH(t.data<double>(), Contains("tensor of dtype float32 accessed as float64"));
    CHECK_THROWS_WITH(t.reshape(Shape{4}), Contains("cannot reshape (2, 3) (6 elements) to (4,) (4 elements)"));
    CHECK_THROWS_WITH(t.broadcast_to(Shape{3, 3}), Contains("shape (2, 3) cannot be broadcast to (3, 3)"));
    const int bad_perm[] = {0, 0};
    CHECK_THROWS_WITH(t.transpose(bad_perm), Contains("(0, 0) is not a permutation of the axes of shape (2, 3)"));
    CHECK_THROWS_WITH(Shape({2, -1}), Contains("shape (2, -1) has a negative dimension"));
    CHECK_THROWS_WITH(Shape({1, 1, 1, 1, 1, 1, 1, 1, 1}), Contains("rank 9"));
    CHECK_THROWS_WITH(Shape({1LL << 32, 1LL << 32}), Contains("too many elements"));
    CHECK_THROWS_WITH(Tensor::empty(DType::f64, Shape{1LL << 61}), Contains("too large"));
    CHECK_THROWS_AS(Tensor::arange(DType::f32, -1), UserError);
}
