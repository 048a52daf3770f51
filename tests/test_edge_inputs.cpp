// Inputs at the edges, through both engines: empty tensors (a dimension of size 0), ranks
// above 4, NaN and infinities reaching reductions, softmax and matmul, and tensors or graphs
// that the caller destroys while a compiled Program still uses them. None of them may crash;
// the engines agree on each. (Malformed input that must be refused is in test_errors.cpp.)
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "nnjit/autodiff.hpp"
#include "nnjit/engine.hpp"
#include "nnjit/graph_ops.hpp"

using namespace nnjit;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

std::vector<Tensor> run(Backend backend, const std::vector<Value>& outputs, const Bindings& bindings) {
    return compile(outputs, backend)->run(bindings);
}

// Same dtype and shape, values within tol (NaN where the other is NaN, infinities equal).
bool agree(const Tensor& a, const Tensor& b, double tol) {
    if (a.dtype() != b.dtype() || a.shape() != b.shape()) return false;
    const auto x = a.to_doubles(), y = b.to_doubles();
    for (std::size_t i = 0; i < x.size(); ++i) {
        if (std::isnan(x[i]) || std::isnan(y[i]) || std::isinf(x[i]) || std::isinf(y[i])) {
            if (std::isnan(x[i]) != std::isnan(y[i]) || (!std::isnan(x[i]) && x[i] != y[i])) return false;
        } else if (std::abs(x[i] - y[i]) > tol * (1 + std::abs(y[i]))) {
            return false;
        }
    }
    return true;
}

}  // namespace

TEST_CASE("edge inputs: empty tensors run through both engines", "[interp][jit][edge]") {
    for (DType dtype : {DType::f32, DType::f64}) {
        INFO(dtype_name(dtype));
        Graph g;
        Value x = g.input("x", dtype, Shape{0, 5});
        Value w = g.parameter("w", dtype, Shape{5, 3});
        Value e = g.input("e", dtype, Shape{4, 0});
        Value f = g.input("f", dtype, Shape{0, 3});
        Value h = tanh(matmul(x, w)) * 2.0 + 1.0;  // (0, 3)
        Value loss = sum(h * h);
        const Value wrt[] = {x, w};
        auto grads = grad(loss, wrt);
        const std::vector<Value> outputs{
            h,                   // (0, 3): no elements
            loss,                // sum over nothing: 0
            sum(x, 0),           // (5,) of zeros
            mean(x, 0),          // (5,) of 0/0 = NaN, as NumPy
            softmax(h, 1),       // (0, 3)
            matmul(e, f),        // (4, 0) @ (0, 3): a (4, 3) of zeros
            sum(e, 1, true),     // (4, 1) of zeros
            grads[0], grads[1],  // (0, 5) and (5, 3) of zeros
        };
        const Bindings b{{"x", Tensor::zeros(dtype, Shape{0, 5})}, {"w", Tensor::randn(dtype, Shape{5, 3}, 1)},
                         {"e", Tensor::zeros(dtype, Shape{4, 0})}, {"f", Tensor::zeros(dtype, Shape{0, 3})}};
        const auto interp = run(Backend::interp, outputs, b);
        const auto jit = run(Backend::jit, outputs, b);
        for (std::size_t k = 0; k < outputs.size(); ++k) {
            INFO("output " << k);
            CHECK(interp[k].shape() == outputs[k].shape());
            CHECK(agree(jit[k], interp[k], 0));
        }
        CHECK(interp[0].numel() == 0);
        CHECK(interp[1].flat(0) == 0);
        CHECK(interp[2].to_doubles() == std::vector<double>(5, 0.0));
        CHECK(std::isnan(interp[3].flat(0)));
        CHECK(interp[5].to_doubles() == std::vector<double>(12, 0.0));
        CHECK(interp[8].to_doubles() == std::vector<double>(15, 0.0));
    }
}

TEST_CASE("edge inputs: ranks above 4 run through both engines, above 8 is refused", "[interp][jit][edge]") {
    // The engines take rank up to Shape::kMaxRank (8); the REPL's :load takes rank 0 to 4
    // (tested in test_repl_batch.cpp).
    Graph g;
    const Shape shape{2, 1, 3, 2, 1, 2, 3};
    Value x = g.input("x", DType::f32, shape);
    Value y = g.input("y", DType::f32, Shape{3, 1, 1, 1, 2, 3});  // broadcasts against x
    Value z = sigmoid(x) * y - x;
    const std::vector<Value> outputs{z, sum(z, std::vector<std::int64_t>{0, 3, 6}), softmax(z, 2), transpose(z)};
    const Bindings b{{"x", Tensor::randn(DType::f32, shape, 3)}, {"y", Tensor::randn(DType::f32, y.shape(), 4)}};
    const auto interp = run(Backend::interp, outputs, b);
    const auto jit = run(Backend::jit, outputs, b);
    for (std::size_t k = 0; k < outputs.size(); ++k) {
        INFO("output " << k);
        CHECK(agree(jit[k], interp[k], 1e-6));
    }
    CHECK(bitwise_equal(jit[0], interp[0]));  // elementwise: bit for bit
    CHECK_THROWS_AS(g.input("r9", DType::f32, Shape({1, 1, 1, 1, 1, 1, 1, 1, 1})), UserError);
    CHECK_THROWS_AS(reshape(x, Shape({1, 1, 1, 1, 1, 1, 1, 72, 1})), UserError);
}

TEST_CASE("edge inputs: NaN and infinities propagate through reductions, softmax and matmul", "[interp][jit][edge]") {
    // The documented policy (README, Numerics): NaN propagates through every op. A row that
    // holds a NaN gives NaN in its sum, mean, softmax and matmul row, and no other row is
    // touched; +inf sums to +inf, and +inf with -inf to NaN.
    for (DType dtype : {DType::f32, DType::f64}) {
        INFO(dtype_name(dtype));
        Graph g;
        Value x = g.input("x", dtype, Shape{4, 3});
        Value w = g.parameter("w", dtype, Shape{3, 2});
        const std::vector<Value> outputs{sum(x, 1),         mean(x, 1), softmax(x, 1), matmul(x, w),
                                         log_softmax(x, 1), sum(x),     max(x, 1),     min(x, 1)};
        const Tensor data = Tensor::from<double>(Shape{4, 3}, {1, kNaN, 2,  //
                                                               kInf, 1, 2,  //
                                                               kInf, -kInf, 0,  //
                                                               1, 2, 3})
                                .to(dtype);
        const Bindings b{{"x", data}, {"w", Tensor::randn(dtype, Shape{3, 2}, 2)}};
        const auto interp = run(Backend::interp, outputs, b);
        const auto jit = run(Backend::jit, outputs, b);
        for (std::size_t k = 0; k < outputs.size(); ++k) {
            INFO("output " << k);
            CHECK(agree(jit[k], interp[k], dtype == DType::f32 ? 1e-6 : 1e-12));
        }
        for (const auto& r : {interp, jit}) {
            const auto s = r[0].to_doubles(), m = r[1].to_doubles(), sm = r[2].to_doubles(), mm = r[3].to_doubles();
            CHECK(std::isnan(s[0]));
            CHECK(s[1] == kInf);
            CHECK(std::isnan(s[2]));
            CHECK(s[3] == 6);
            CHECK(std::isnan(m[0]));
            for (int j = 0; j < 3; ++j) CHECK(std::isnan(sm[static_cast<std::size_t>(j)]));  // the NaN row
            for (int j = 9; j < 12; ++j) CHECK(std::isfinite(sm[static_cast<std::size_t>(j)]));  // a finite row
            CHECK((std::isnan(mm[0]) && std::isnan(mm[1])));
            CHECK((std::isfinite(mm[6]) && std::isfinite(mm[7])));
            CHECK(std::isnan(r[5].flat(0)));
            const auto hi = r[6].to_doubles(), lo = r[7].to_doubles();
            CHECK((std::isnan(hi[0]) && hi[1] == kInf && hi[2] == kInf && hi[3] == 3));
            CHECK((std::isnan(lo[0]) && lo[1] == 1 && lo[2] == -kInf && lo[3] == 1));
        }
    }
}

TEST_CASE("edge inputs: a Program outlives its Graph and the caller's tensors", "[interp][jit][edge]") {
    // Impossible by design to free what a Program uses: it shares ownership of its graph's
    // nodes, literals share their tensor's storage, and bound tensors are only read during
    // run(). Under AddressSanitizer (CI) any dangling use here is a reported error.
    for (Backend backend : {Backend::interp, Backend::jit}) {
        INFO(backend_name(backend));
        std::unique_ptr<Program> program;
        Tensor expected;
        {
            Graph g;
            Tensor table = Tensor::randn(DType::f32, Shape{3, 4}, 8);
            Value x = g.input("x", DType::f32, Shape{3, 4});
            Value y = relu(x * g.literal(table)) + 0.5;
            program = compile({y, sum(y)}, backend);
            Bindings b{{"x", Tensor::full(DType::f32, Shape{3, 4}, 2.0)}};
            expected = program->run(b)[0];
            // The graph, the literal's tensor and the bindings all go here.
        }
        const Tensor out = program->run({{"x", Tensor::full(DType::f32, Shape{3, 4}, 2.0)}})[0];
        CHECK(bitwise_equal(out, expected));
        // Outputs are the caller's: another run never writes over them.
        const Tensor again = program->run({{"x", Tensor::zeros(DType::f32, Shape{3, 4})}})[0];
        CHECK(bitwise_equal(out, expected));
        CHECK_FALSE(bitwise_equal(again, expected));
    }
}
