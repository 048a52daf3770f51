// The differential fuzzer's oracle must be able to fail: its intervals hold what the engines
// compute, and no more than the documented bounds allow.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "interval_oracle.hpp"
#include "nnjit/graph_ops.hpp"
#include "nnjit/interpreter.hpp"

using namespace nnjit;

namespace {

Tensor vector_of(DType dtype, std::initializer_list<double> values) {
    const std::vector<double> v(values);
    if (dtype == DType::f64) return Tensor::from<double>(Shape{static_cast<std::int64_t>(v.size())}, v);
    return Tensor::from<float>(Shape{static_cast<std::int64_t>(v.size())}, std::vector<float>(v.begin(), v.end()));
}

double ulp_above(double v, DType dtype) {
    if (dtype == DType::f64) return std::nextafter(v, std::numeric_limits<double>::infinity());
    return std::nextafter(static_cast<float>(v), std::numeric_limits<float>::infinity());
}

}  // namespace

TEST_CASE("oracle: correctly rounded ops allow the rounded result and not the next number", "[fuzz]") {
    for (DType dtype : {DType::f32, DType::f64}) {
        Graph g;
        Value x = g.input("x", dtype, Shape{3});
        Value y = g.input("y", dtype, Shape{3});
        const std::vector<Value> outputs{x + y, x * y, x / y};
        const Bindings b{{"x", vector_of(dtype, {1, 0.1, 3})}, {"y", vector_of(dtype, {2, 3, 7})}};
        const auto bounds = fuzz::interval_bounds(outputs, b);
        const auto results = Interpreter(outputs).run(b);
        for (std::size_t k = 0; k < outputs.size(); ++k) {
            const auto r = results[k].to_doubles();
            for (std::size_t i = 0; i < r.size(); ++i) {
                CHECK(bounds[k][i].contains(r[i]));
                CHECK_FALSE(bounds[k][i].contains(ulp_above(ulp_above(r[i], dtype), dtype)));
            }
        }
    }
}

TEST_CASE("oracle: transcendentals get their documented ulps, cancellation widens", "[fuzz]") {
    Graph g;
    Value x = g.input("x", DType::f32, Shape{2});
    const Bindings b{{"x", vector_of(DType::f32, {0.5, 1e8})}};
    const std::vector<Value> outputs{exp(x), sum((x + 1.0) - x)};
    const auto bounds = fuzz::interval_bounds(outputs, b);
    const long double e = std::exp(0.5L);
    CHECK(bounds[0][0].contains(static_cast<double>(e)));
    CHECK(bounds[0][0].hi - bounds[0][0].lo < 9 * 0x1p-23L * e);   // 4 ulps each side, and a little slack
    CHECK(bounds[0][0].hi - bounds[0][0].lo > 7 * 0x1p-23L * e);
    // (0.5 + 1) - 0.5 = 1 exactly, but (1e8 + 1) - 1e8 is 0 in float32: the sum's bound must allow
    // the exact 2 and the computed 1.
    CHECK(bounds[1][0].contains(2.0));
    CHECK(bounds[1][0].contains(Interpreter(outputs).run(b)[1].to_doubles()[0]));
    CHECK(Interpreter(outputs).run(b)[1].to_doubles()[0] == 1.0);
}

TEST_CASE("oracle: NaN only where an input or an op can make one", "[fuzz]") {
    Graph g;
    Value x = g.input("x", DType::f64, Shape{2});
    const Bindings b{{"x", vector_of(DType::f64, {-1, 4})}};
    const auto bounds = fuzz::interval_bounds({log(x), sqrt(x), greater(x, x * 0.5)}, b);
    CHECK(bounds[0][0].contains(std::nan("")));
    CHECK_FALSE(bounds[0][0].contains(0.0));
    CHECK_FALSE(bounds[0][1].contains(std::nan("")));
    CHECK(bounds[1][0].empty());
    CHECK(bounds[1][1].contains(2.0));
    // -1 > -0.5 is false and 4 > 2 true, whatever the rounding.
    CHECK(bounds[2][0].contains(0.0));
    CHECK_FALSE(bounds[2][0].contains(1.0));
    CHECK(bounds[2][1].contains(1.0));
    CHECK_FALSE(bounds[2][1].contains(0.0));
}

TEST_CASE("oracle: a sum whose terms overflow the format allows NaN, one that cannot does not", "[fuzz]") {
    // (1 x 2) @ (2 x 1) in float32: 2e19 * 1e20 overflows to +inf, 2e19 * -5e19 to -inf, and
    // +inf + -inf is NaN, although the exact 1e39 is only above FLT_MAX (found by the fuzzer).
    Graph g;
    Value a = g.input("a", DType::f32, Shape{1, 2});
    Value w = g.input("w", DType::f32, Shape{2, 1});
    const std::vector<Value> outputs{matmul(a, w), matmul(a * 1e-20, w * 1e-20)};
    const Bindings b{{"a", Tensor::from<float>(Shape{1, 2}, std::vector<float>{2e19f, 2e19f})},
                     {"w", Tensor::from<float>(Shape{2, 1}, std::vector<float>{1e20f, -5e19f})}};
    const auto bounds = fuzz::interval_bounds(outputs, b);
    const auto results = Interpreter(outputs).run(b);
    CHECK(std::isnan(results[0].to_doubles()[0]));
    CHECK(bounds[0][0].contains(results[0].to_doubles()[0]));
    // Scaled down, nothing overflows: the same sum is finite, and NaN is not allowed.
    CHECK(bounds[1][0].contains(results[1].to_doubles()[0]));
    CHECK_FALSE(bounds[1][0].contains(std::nan("")));
}
