#include <catch2/catch.hpp>

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
