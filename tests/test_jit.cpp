// The JIT against the interpreter (the oracle): every elementwise op in both dtypes and at
// sizes around the vector width, forward and gradient, bit for bit; broadcasting, reductions,
// the caches, the generated assembly, and compiling from several threads.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cmath>
#include <span>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <regex>
#include <thread>
#include <omp.h>
#include <unistd.h>

#include "../jit/engine.hpp"
#include "../jit/executor.hpp"
#include "../jit/fusion.hpp"
#include "nnjit/autodiff.hpp"
#include "nnjit/engine.hpp"
#include "nnjit/graph_ops.hpp"
#include "probe_data.hpp"

using namespace nnjit;

namespace {

// Values that exercise every branch of the rules: signs, zeros of both signs, ties between
// operands (every 5th element of `tie_with`), tiny and huge magnitudes, and inf / NaN.
Tensor test_data(DType dtype, const Shape& shape, std::uint64_t seed, const Tensor* tie_with = nullptr) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> normal(0.0, 3.0);
    const std::int64_t n = shape.numel();
    std::vector<double> v(static_cast<std::size_t>(n));
    const double special[] = {0.0, -0.0, INFINITY, -INFINITY, NAN, 1e-30, -1e30, 100.0, -100.0, 1.0};
    for (std::int64_t i = 0; i < n; ++i) {
        double x = normal(rng);
        if (i % 7 == 3) x = special[(i / 7) % 10];
        if (tie_with && i % 5 == 0 && i < tie_with->numel()) x = tie_with->flat(i);
        v[static_cast<std::size_t>(i)] = x;
    }
    if (dtype == DType::f64) return Tensor::from<double>(shape, std::span<const double>(v));
    std::vector<float> f(v.begin(), v.end());
    return Tensor::from<float>(shape, std::span<const float>(f));
}

struct Results {
    std::vector<Tensor> jit, interp;
};

Results run_both(const std::vector<Value>& outputs, const Bindings& bindings) {
    return {compile(outputs, Backend::jit)->run(bindings), compile(outputs, Backend::interp)->run(bindings)};
}

// On 1 and 3 threads: every output of the JIT bit for bit the interpreter's, then
// check(the JIT's outputs).
template <class Check>
void bitwise_on_threads(const std::vector<Value>& outputs, const Bindings& bindings, const Check& check) {
    const int default_threads = omp_get_max_threads();
    for (int threads : {1, 3}) {
        omp_set_num_threads(threads);
        const Results r = run_both(outputs, bindings);
        for (std::size_t k = 0; k < outputs.size(); ++k) {
            INFO(fmt::format("threads {} output {}", threads, k));
            CHECK(bitwise_equal(r.jit[k], r.interp[k]));
        }
        check(r.jit);
    }
    omp_set_num_threads(default_threads);
}

// |a - b| <= atol + rtol |b| everywhere; NaN only where the other is NaN, infinities equal.
bool close(const Tensor& a, const Tensor& b, double rtol, double atol) {
    if (a.shape() != b.shape() || a.dtype() != b.dtype()) return false;
    const auto x = a.to_doubles(), y = b.to_doubles();
    for (std::size_t i = 0; i < x.size(); ++i) {
        if (std::isnan(x[i]) || std::isnan(y[i])) {
            if (std::isnan(x[i]) != std::isnan(y[i])) return false;
            continue;
        }
        if (std::isinf(x[i]) || std::isinf(y[i])) {
            if (x[i] != y[i]) return false;
            continue;
        }
        if (std::abs(x[i] - y[i]) > atol + rtol * std::abs(y[i])) return false;
    }
    return true;
}

std::vector<Op> elementwise_ops() {
    std::vector<Op> ops;
    for (const OpInfo& info : op_table())
        if (info.kind == OpKind::Elementwise) ops.push_back(*op_by_name(info.name));
    return ops;
}

}  // namespace

TEST_CASE("jit: every elementwise op, forward and gradient, bit for bit with the interpreter", "[jit]") {
    const std::int64_t sizes[] = {0, 1, 15, 16, 17, 1000, 100003};
    for (DType dtype : {DType::f32, DType::f64}) {
        for (Op op : elementwise_ops()) {
            for (std::int64_t n : sizes) {
                Graph g;
                const int arity = op_info(op).arity;
                std::vector<Value> xs;
                Bindings b;
                for (int k = 0; k < arity; ++k) {
                    const std::string name = fmt::format("x{}", k);
                    xs.push_back(g.input(name, dtype, Shape{n}));
                    const Tensor* tie = k > 0 ? &b.at("x0") : nullptr;
                    b[name] = test_data(dtype, Shape{n}, 17u * static_cast<unsigned>(k) + static_cast<unsigned>(n), tie);
                }
                Value y = elementwise(op, xs, 0.3);
                Value gy = g.input("gy", dtype, Shape{n});
                b["gy"] = test_data(dtype, Shape{n}, 99);
                std::vector<Value> outputs{y};
                for (Value gx : grad(y, xs, gy)) outputs.push_back(gx);
                const Results r = run_both(outputs, b);
                for (std::size_t k = 0; k < outputs.size(); ++k) {
                    INFO(fmt::format("{} {} n={} output {}", op_name(op), dtype, n, k));
                    CHECK(bitwise_equal(r.jit[k], r.interp[k]));
                }
            }
        }
    }
}

TEST_CASE("jit: broadcast operands are read in place, forward bit for bit, gradients summed", "[jit]") {
    struct Case {
        Shape a, b;
    };
    const Case cases[] = {{{4, 5, 6}, {6}},      {{4, 5, 6}, {5, 1}},   {{4, 5, 6}, {4, 1, 6}}, {{37, 19}, {}},
                          {{3, 1, 17}, {1, 9, 1}}, {{1000, 3}, {1000, 1}}, {{2, 33}, {2, 33}}};
    for (DType dtype : {DType::f32, DType::f64}) {
        for (const Case& c : cases) {
            Graph g;
            Value a = g.input("a", dtype, c.a);
            Value bb = g.parameter("b", dtype, c.b);
            Value y = sigmoid(a * bb + bb) * relu(a) - tanh(bb) / (abs(a) + 1.0);
            Value gy = g.input("gy", dtype, y.shape());
            const Value wrt[] = {a, bb};
            auto grads = grad(y, wrt, gy);
            Bindings bind{{"a", test_data(dtype, c.a, 1)}, {"b", test_data(dtype, c.b, 2)}, {"gy", test_data(dtype, y.shape(), 3)}};
            // Keep the data finite here: sums of inf - inf would only test NaN placement.
            for (auto& [name, t] : bind) t = Tensor::randn(dtype, t.shape(), std::hash<std::string>{}(name));
            const Results r = run_both({y, grads[0], grads[1]}, bind);
            INFO(fmt::format("{} a {} b {}", dtype, c.a, c.b));
            CHECK(bitwise_equal(r.jit[0], r.interp[0]));
            CHECK(bitwise_equal(r.jit[1], r.interp[1]));
            const double rtol = dtype == DType::f32 ? 2e-6 : 1e-13;
            CHECK(close(r.jit[2], r.interp[2], rtol, rtol));
        }
    }
}

// The loop takes two vectors per iteration and masks the rest (at most two vectors): every
// length up to four pairs of vectors and one more, every row length around a pair in a 2-D
// domain, with a where() on a comparison (selected on the comparison itself), register
// sums over a row and per-column sums over the rows.
TEST_CASE("jit: every length around the two-vector loop and its masked rest", "[jit][codegen]") {
    for (DType dtype : {DType::f32, DType::f64}) {
        const std::int64_t lanes = jit::Engine::instance().vector_bits() / (dtype == DType::f32 ? 32 : 64);
        std::vector<Shape> shapes;
        for (std::int64_t n = 0; n <= 8 * lanes + 1; ++n) shapes.push_back(Shape{n});
        for (std::int64_t n : {2 * lanes - 1, 2 * lanes, 2 * lanes + 1, 3 * lanes}) shapes.push_back(Shape{3, n});
        for (const Shape& shape : shapes) {
            Graph g;
            Value x = g.input("x", dtype, shape);
            Value gy = g.input("gy", dtype, shape);
            Value y = sigmoid(x * 2.0 + 0.5) * relu(x);
            Value picked = where(greater(x, gy), gy * x, abs(gy));
            std::vector<Value> outs{y, grad(y, x, gy), picked, where(equal(x, picked), x, gy)};
            const Bindings b{{"x", test_data(dtype, shape, 7)}, {"gy", test_data(dtype, shape, 8, nullptr)}};
            const Results r = run_both(outs, b);
            for (std::size_t k = 0; k < outs.size(); ++k) {
                INFO(fmt::format("{} {} output {}", dtype, shape, k));
                CHECK(bitwise_equal(r.jit[k], r.interp[k]));
            }
            // Finite data for the sums (inf - inf would only test NaN placement).
            const Bindings finite{{"x", Tensor::randn(dtype, shape, 9)}, {"gy", Tensor::randn(dtype, shape, 10)}};
            const std::vector<Value> sums{sum(y * gy, -1), sum(picked, 0), sum(greater(x, gy))};
            const Results rs = run_both(sums, finite);
            const double tol = dtype == DType::f32 ? 1e-6 : 1e-13;
            for (std::size_t k = 0; k < sums.size(); ++k) {
                INFO(fmt::format("{} {} sum {}", dtype, shape, k));
                CHECK(close(rs.jit[k], rs.interp[k], tol, tol));
            }
        }
    }
}

TEST_CASE("jit: transposed and reshaped operands", "[jit]") {
    Graph g;
    Value a = g.input("a", DType::f32, Shape{6, 40});
    Value b = g.input("b", DType::f32, Shape{40, 6});
    Value y = exp(a) * transpose(b) + reshape(b, Shape{6, 40});
    Bindings bind{{"a", Tensor::randn(DType::f32, Shape{6, 40}, 1)}, {"b", Tensor::randn(DType::f32, Shape{40, 6}, 2)}};
    const Results r = run_both({y}, bind);
    CHECK(bitwise_equal(r.jit[0], r.interp[0]));
}

TEST_CASE("jit: sums and means as kernel epilogues", "[jit]") {
    for (DType dtype : {DType::f32, DType::f64}) {
        for (const Shape& shape : {Shape{0, 3}, Shape{1}, Shape{17}, Shape{100003}, Shape{33, 17}, Shape{4, 5, 6}, Shape{3, 1000, 2}}) {
            Graph g;
            Value x = g.input("x", dtype, shape);
            Value e = sigmoid(x) * x;
            std::vector<Value> outs{sum(e), mean(x * x), sum(e, 0, true), mean(e, -1)};
            if (shape.rank() == 3) {
                outs.push_back(sum(e, std::vector<std::int64_t>{0, 2}));
                outs.push_back(mean(tanh(x), std::vector<std::int64_t>{1}, true));
            }
            Bindings b{{"x", Tensor::randn(dtype, shape, 5)}};
            const Results r = run_both(outs, b);
            const double tol = dtype == DType::f32 ? 1e-6 : 1e-13;
            for (std::size_t k = 0; k < outs.size(); ++k) {
                INFO(fmt::format("{} {} output {}", dtype, shape, k));
                CHECK(close(r.jit[k], r.interp[k], tol, tol));
            }
        }
    }
}

TEST_CASE("jit: max and min as kernel epilogues give the interpreter's bits, NaN and signed zeros included", "[jit]") {
    for (DType dtype : {DType::f32, DType::f64}) {
        // 2^21 + 5 elements: several chunks, whose partial results the executor combines.
        // Columns over more rows than one block of the float32 scratch row (255), with a
        // masked rest of columns, in one chunk and in several.
        for (const Shape& shape : {Shape{1}, Shape{17}, Shape{100003}, Shape{(1 << 21) + 5}, Shape{33, 17},
                                   Shape{4, 5, 6}, Shape{3, 1000, 2}, Shape{1000, 37}, Shape{4099, 515}}) {
            Graph g;
            Value x = g.input("x", dtype, shape);  // with inf and NaN
            Value z = g.input("z", dtype, shape);  // only zeros of both signs and negatives: ties at 0
            Value e = relu(x) * 2.0 - x;
            std::vector<Value> outs{max(e), min(x), max(z), min(-z), max(z, 0, true), min(e, -1), max(x, -1)};
            if (shape.rank() == 3) {
                outs.push_back(max(z, std::vector<std::int64_t>{0, 2}));
                outs.push_back(min(tanh(x), std::vector<std::int64_t>{1}, true));
            }
            std::mt19937_64 rng(11);
            std::vector<double> zs(static_cast<std::size_t>(shape.numel()));
            for (double& v : zs) v = rng() % 4 == 0 ? -1.5 : rng() % 5 == 0 ? 0.0 : -0.0;
            Bindings b{{"x", test_data(dtype, shape, 5)}, {"z", Tensor::from<double>(shape, zs).to(dtype)}};
            const Results r = run_both(outs, b);
            for (std::size_t k = 0; k < outs.size(); ++k) {
                INFO(fmt::format("{} {} output {}", dtype, shape, k));
                CHECK(bitwise_equal(r.jit[k], r.interp[k]));
            }
            // The data make both signs of zero and NaN appear among the results.
            if (shape.numel() > 1000) {
                CHECK(std::isnan(r.jit[1].flat(0)));
                CHECK((r.jit[2].flat(0) == 0 && !std::signbit(r.jit[2].flat(0))));
                CHECK((r.jit[3].flat(0) == 0 && std::signbit(r.jit[3].flat(0))));
            }
        }
    }
}

TEST_CASE("jit: a max per column of a comparison (whether any row holds it) is the interpreter's", "[jit][threads]") {
    // The JIT keeps such a max as a bit per column (jit/codegen.cpp, any_columns), or beside a
    // stored relu as relu's own counts. Columns never, once and often true; row blocks, column
    // tails and several chunks on several threads.
    const DType dtype = GENERATE(DType::f32, DType::f64);
    const Shape shape = GENERATE(Shape{33, 17}, Shape{600, 200}, Shape{1000, 37}, Shape{4099, 515});
    CAPTURE(dtype, shape);
    Graph g;
    const Value x = g.input("x", dtype, shape);
    const Value y = g.input("y", dtype, shape);
    const Value zero = g.constant(0, dtype);
    const std::vector<Value> outs{max(greater(x, zero), 0), max(greater(x, y), 0), max(equal(relu(x), zero), 0, true),
                                  max(greater(y, x), 0), relu(x)};
    const Bindings b{{"x", test::with_quiet_columns(Tensor::randn(DType::f64, shape, 3).to(dtype))},
                     {"y", Tensor::randn(DType::f64, shape, 4).to(dtype)}};
    bitwise_on_threads(outs, b, [&](const std::vector<Tensor>& jit) {
        // Both answers occur: the quiet columns are never positive, the others are.
        const auto active = jit[0].to_doubles();
        CHECK(std::count(active.begin(), active.end(), 0.0) == (shape[1] + 2) / 3);
        CHECK(std::count(active.begin(), active.end(), 1.0) == shape[1] - (shape[1] + 2) / 3);
    });
}

TEST_CASE("jit: a max of a comparison over rows, over everything and along a vector is the interpreter's", "[jit][threads]") {
    // Such a max leaves the kernel as a byte per result (KernelSpec::is_any) whatever way the
    // loop keeps it: a register per row (over rows and everything) or the buffer itself (a
    // one-dimensional kernel run in chunks); the chunks' bytes are combined by the executor.
    const DType dtype = GENERATE(DType::f32, DType::f64);
    const Shape shape = GENERATE(Shape{7, 4099}, Shape{300, 33}, Shape{600, 513});  // the last in 3 chunks
    CAPTURE(dtype, shape);
    Graph g;
    const Value x = g.input("x", dtype, shape);
    const Value y = g.input("y", dtype, shape);
    const std::int64_t n = 300007;  // 3 chunks
    const Value v = g.input("v", dtype, Shape{n});
    const Value zero = g.constant(0, dtype);
    const std::vector<Value> outs{max(greater(x, zero), 1), max(greater(x, y)), max(equal(relu(x), zero), 1, true),
                                  max(greater(v, zero), 0), max(greater(v, v))};
    Tensor x64 = Tensor::randn(DType::f64, shape, 5);
    for (std::int64_t c = 0; c < shape[1]; ++c) x64.data<double>()[c] = -1 - static_cast<double>(c);  // row 0: never > 0
    // v > 0 only near its end: in the last chunk of the one-dimensional kernel.
    Tensor v64 = Tensor::randn(DType::f64, Shape{n}, 7);
    for (double& e : std::span(v64.data<double>(), static_cast<std::size_t>(n))) e = -std::abs(e);
    v64.data<double>()[n - 7] = 0.5;
    const Bindings b{{"x", x64.to(dtype)}, {"y", Tensor::randn(DType::f64, shape, 6).to(dtype)}, {"v", v64.to(dtype)}};
    bitwise_on_threads(outs, b, [&](const std::vector<Tensor>& jit) {
        // Both answers occur: row 0 is never positive, the others are; v's one positive counts;
        // nothing exceeds itself.
        const auto rows = jit[0].to_doubles();
        CHECK(rows[0] == 0);
        CHECK(std::count(rows.begin(), rows.end(), 1.0) == shape[0] - 1);
        CHECK(jit[3].flat(0) == 1);
        CHECK(jit[4].flat(0) == 0);
    });
}

TEST_CASE("jit: a chain of 5 elementwise ops and its gradient is one kernel writing only its outputs", "[jit][fusion]") {
    Graph g;
    Value x = g.input("x", DType::f32, Shape{1000});
    Value gy = g.input("gy", DType::f32, Shape{1000});
    Value y = tanh(sigmoid(exp(x * 0.5) + 1.0) * relu(x));
    Value gx = grad(y, x, gy);
    const jit::Plan plan = jit::fuse({y, gx});
    REQUIRE(plan.kernels.size() == 1);
    CHECK(plan.steps.size() == 1);
    CHECK(plan.kernels[0].stored.size() == 2);
    CHECK(plan.kernels[0].spec.operands.size() == 2);
}

TEST_CASE("jit: zeros of sigmoid, exp and softplus are counted exactly, in rows with and without them", "[jit]") {
    // The JIT counts these (0 only by underflow) from the stored row only when MXCSR's underflow
    // flag went up while the row was computed; a row of ordinary values has no zero to count.
    // Inputs across the edge where each one starts to give 0 (some rows have them and no deeper
    // one) check that every 0 raises the flag.
    for (DType dtype : {DType::f32, DType::f64}) {
        const double deep = dtype == DType::f32 ? -200.0 : -1000.0;  // every one underflows here
        const double edge_from = dtype == DType::f32 ? -112.0 : -760.0;
        const double edge_to = dtype == DType::f32 ? -80.0 : -700.0;
        for (const Shape& shape : {Shape{7, 37}, Shape{100003}, Shape{3, 1000}, Shape{(1 << 20) + 3}}) {
            Graph g;
            Value x = g.input("x", dtype, shape);
            const Value acts[] = {sigmoid(x), exp(x), softplus(x)};
            const Value zero = g.constant(0, dtype);
            std::vector<Value> outs;
            for (const Value& a : acts) {
                outs.push_back(a);                    // stored: the rows are counted from it
                outs.push_back(sum(equal(a, zero)));  // all at once
                if (shape.rank() == 2) outs.push_back(sum(equal(zero, a), 1));  // per row
            }
            outs.push_back(sum(equal(sigmoid(x * 2.0), zero)));  // not stored: compared in the loop
            std::mt19937_64 rng(3);
            std::vector<double> v(static_cast<std::size_t>(shape.numel()));
            std::int64_t deep_values = 0;
            for (std::size_t i = 0; i < v.size(); ++i) {
                // Zeros in the first row, every 997th element after, and none in the last row;
                // edge values every 991st element (from 500 on), in 64 steps.
                const bool is_deep = i < v.size() - 37 && (i < 5 || i % 997 == 0);
                const bool is_edge = !is_deep && i < v.size() - 37 && i % 991 == 500;
                v[i] = is_deep   ? deep
                       : is_edge ? edge_from + (edge_to - edge_from) * static_cast<double>(i / 991 % 64) / 63.0
                                 : static_cast<double>(rng() % 2000) / 100.0 - 10.0;
                deep_values += is_deep;
            }
            const Bindings b{{"x", Tensor::from<double>(shape, v).to(dtype)}};
            const Results r = run_both(outs, b);
            for (std::size_t k = 0; k < outs.size(); ++k) {
                INFO(fmt::format("{} {} output {}", dtype, shape, k));
                CHECK(bitwise_equal(r.jit[k], r.interp[k]));
            }
            const std::size_t per_act = shape.rank() == 2 ? 3 : 2;
            for (std::size_t a = 0; a < 3; ++a) {
                const Tensor& stored = r.jit[a * per_act];
                std::int64_t zeros = 0;
                for (std::int64_t i = 0; i < stored.numel(); ++i) zeros += stored.flat(i) == 0.0;
                INFO(fmt::format("{} {} activation {}", dtype, shape, a));
                CHECK(zeros >= deep_values);
                CHECK(r.jit[a * per_act + 1].flat(0) == static_cast<double>(zeros));
            }
            CHECK(r.jit.back().flat(0) >= static_cast<double>(deep_values));
        }
    }
}

TEST_CASE("jit: kernels that read the same array merge into one loop, unless one needs the other", "[jit][fusion]") {
    Graph g;
    Value x = g.input("x", DType::f32, Shape{1000});
    Value gy = g.input("gy", DType::f32, Shape{1000});
    // leaky_relu's gradient reads x, not y: without sibling fusion, two loops each reading x.
    Value y = leaky_relu(x, 0.1);
    Value gx = grad(y, x, gy);
    const jit::Plan leaky = jit::fuse({y, gx});
    REQUIRE(leaky.kernels.size() == 1);
    CHECK(leaky.kernels[0].spec.operands.size() == 2);  // x and gy, each read once
    // A reduction of x in its own loop joins an elementwise loop over x.
    const jit::Plan with_sum = jit::fuse({relu(x), sum(x)});
    CHECK(with_sum.kernels.size() == 1);
    // x / sum(exp(x)) reads x too, but needs the sum of the loop over exp(x) first: two loops.
    const Value s = sum(exp(x));
    const std::vector<Value> dependent{exp(x) * 2.0, x / s};
    const jit::Plan chained = jit::fuse(dependent);
    CHECK(chained.kernels.size() == 2);
    // Different domains (x and a (1000, 2) array) never share a loop.
    Value z = g.input("z", DType::f32, Shape{1000, 2});
    CHECK(jit::fuse({relu(x), relu(z)}).kernels.size() == 2);
    const Bindings b{{"x", Tensor::randn(DType::f32, Shape{1000}, 1)},
                     {"gy", Tensor::randn(DType::f32, Shape{1000}, 2)},
                     {"z", Tensor::randn(DType::f32, Shape{1000, 2}, 3)}};
    for (const std::vector<Value>& outs : {std::vector<Value>{y, gx}, dependent, std::vector<Value>{relu(x), sum(x)}}) {
        const Results r = run_both(outs, b);
        for (std::size_t k = 0; k < outs.size(); ++k) CHECK(bitwise_equal(r.jit[k], r.interp[k]));
    }
}

TEST_CASE("jit: a layer's bias gradient is summed in the loop that computes it", "[jit][fusion]") {
    Graph g;
    Value x = g.input("x", DType::f32, Shape{64, 32});
    Value w = g.parameter("w", DType::f32, Shape{32, 16});
    Value b = g.parameter("b", DType::f32, Shape{16});
    Value y = sigmoid(matmul(x, w) + b);
    Value loss = mean(y * y);
    const Value wrt[] = {w, b};
    auto grads = grad(loss, wrt);
    const jit::Plan plan = jit::fuse({loss, grads[0], grads[1]});
    for (const jit::PlanStep& s : plan.steps)
        if (s.kernel < 0) CHECK(s.node->op() == Op::MatMul);
    // Bias add, sigmoid, the loss and the whole backward pass up to the weight gradient's
    // matmul: one loop (the seed's 1/count is folded to a constant).
    CHECK(plan.kernels.size() == 1);
    Bindings bind{{"x", Tensor::randn(DType::f32, Shape{64, 32}, 1)},
                  {"w", Tensor::randn(DType::f32, Shape{32, 16}, 2)},
                  {"b", Tensor::randn(DType::f32, Shape{16}, 3)}};
    const Results r = run_both({loss, grads[0], grads[1]}, bind);
    for (std::size_t k = 0; k < 3; ++k) CHECK(close(r.jit[k], r.interp[k], 1e-5, 1e-6));
}

TEST_CASE("jit: the loop body uses vectors of the host width", "[jit][codegen]") {
    Graph g;
    Value x = g.input("x", DType::f32, Shape{4096});
    Value y = sigmoid(x * 0.5 + 0.25) * relu(x);
    const JitReport report = inspect_jit({y});
    const unsigned bits = jit::Engine::instance().vector_bits();
    const std::string reg = bits == 512 ? "zmm" : bits == 256 ? "ymm" : "xmm";
    const std::regex vector_arith("\\tv(mul|add|sub|div|fmadd\\w*|fnmadd\\w*|max|min)ps\\t.*%" + reg);
    CHECK(std::regex_search(report.assembly, vector_arith));
    CHECK(report.llvm_ir.find(fmt::format("<{} x float>", bits / 32)) != std::string::npos);
    CHECK(report.fused_plan.find("1 kernels") != std::string::npos);
}

TEST_CASE("jit: jit_target_cpu names the CPU of the cache key, the one the kernels are tuned for", "[jit]") {
    const std::string cpu = jit_target_cpu();
    CHECK(!cpu.empty());
    CHECK(cpu.find(' ') == std::string::npos);
    // The key reads "<triple> <cpu> <bits>-bit <features> ...": the CPU is its second word.
    const std::string target = jit::Engine::instance().target();
    const auto first_space = target.find(' ');
    REQUIRE(first_space != std::string::npos);
    CHECK(target.substr(first_space + 1, cpu.size() + 1) == cpu + " ");
}

TEST_CASE("jit: a second compile of the same graph does no LLVM work", "[jit][cache]") {
    auto build = [](Graph& g) {
        Value x = g.input("x", DType::f32, Shape{8, 9});
        return std::vector<Value>{elu(x, 0.125) * softplus(x) + 3.0};
    };
    Graph g1, g2;
    const auto before = jit::Engine::instance().stats();
    compile(build(g1), Backend::jit);
    const auto middle = jit::Engine::instance().stats();
    compile(build(g2), Backend::jit);
    const auto after = jit::Engine::instance().stats();
    CHECK(after.compiled == middle.compiled);
    CHECK(after.disk_hits == middle.disk_hits);
    CHECK(after.memory_hits == middle.memory_hits + 1);
    CHECK(middle.compiled + middle.disk_hits + middle.memory_hits == before.compiled + before.disk_hits + before.memory_hits + 1);
}

TEST_CASE("jit: the disk cache is reused, and a corrupt entry is rebuilt", "[jit][cache]") {
    jit::Engine& engine = jit::Engine::instance();
    const std::string saved = engine.cache_dir();
    const auto dir = std::filesystem::temp_directory_path() / fmt::format("nnjit-test-cache-{}", ::getpid());
    std::filesystem::remove_all(dir);
    engine.set_cache_dir(dir.string());
    Graph g;
    Value x = g.input("x", DType::f64, Shape{5, 7});
    Value y = log(abs(x) + 1.0) * maximum(x, x * -0.75);
    Bindings b{{"x", Tensor::randn(DType::f64, Shape{5, 7}, 9)}};
    const Tensor expected = compile({y}, Backend::interp)->run(b)[0];

    auto compile_fresh = [&] {
        engine.clear_memory_cache();
        const auto before = engine.stats();
        const Tensor got = compile({y}, Backend::jit)->run(b)[0];
        CHECK(bitwise_equal(got, expected));
        const auto after = engine.stats();
        return std::pair{after.compiled - before.compiled, after.disk_hits - before.disk_hits};
    };
    CHECK(compile_fresh() == std::pair<std::uint64_t, std::uint64_t>{1, 0});
    CHECK(compile_fresh() == std::pair<std::uint64_t, std::uint64_t>{0, 1});
    // Corrupt every entry (a flipped byte in the object) and truncate another copy.
    std::size_t entries = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
        std::fstream f(e.path(), std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(-100, std::ios::end);
        f.put('\x5a');
        ++entries;
    }
    CHECK(entries == 1);
    CHECK(compile_fresh() == std::pair<std::uint64_t, std::uint64_t>{1, 0});
    CHECK(compile_fresh() == std::pair<std::uint64_t, std::uint64_t>{0, 1});
    for (const auto& e : std::filesystem::directory_iterator(dir)) std::filesystem::resize_file(e.path(), 20);
    CHECK(compile_fresh() == std::pair<std::uint64_t, std::uint64_t>{1, 0});
    engine.set_cache_dir(saved);
    std::filesystem::remove_all(dir);
}

TEST_CASE("jit: compiling and running from 4 threads at once", "[jit][threads]") {
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([t, &failures] {
            for (int round = 0; round < 5; ++round) {
                Graph g;
                // Threads 0 and 1 build the same kernels, 2 and 3 their own.
                const double c = t < 2 ? 0.5 : 0.25 * t + round;
                Value x = g.input("x", DType::f32, Shape{3, 100 + round});
                Value gy = g.input("gy", DType::f32, Shape{3, 100 + round});
                Value y = gelu(x * c) + sigmoid(x);
                Value gx = grad(y, x, gy);
                Bindings b{{"x", Tensor::randn(DType::f32, x.shape(), 1)}, {"gy", Tensor::randn(DType::f32, x.shape(), 2)}};
                const auto j = compile({y, gx}, Backend::jit)->run(b);
                const auto i = compile({y, gx}, Backend::interp)->run(b);
                if (!bitwise_equal(j[0], i[0]) || !bitwise_equal(j[1], i[1])) ++failures;
            }
        });
    }
    for (auto& th : threads) th.join();
    CHECK(failures == 0);
}

TEST_CASE("jit: run_into writes the caller's tensors, outputs never alias inputs", "[jit]") {
    Graph g;
    Value x = g.input("x", DType::f32, Shape{1000});
    Value y = relu(x) * 2.0;
    auto p = compile({y, x, y, sum(y)}, Backend::jit);
    Bindings b{{"x", Tensor::randn(DType::f32, Shape{1000}, 4)}};
    std::vector<Tensor> outs{Tensor::zeros(DType::f32, Shape{1000}), Tensor::zeros(DType::f32, Shape{1000}),
                             Tensor::zeros(DType::f32, Shape{1000}), Tensor::zeros(DType::f32, Shape{})};
    p->run_into(b, outs);
    const auto ref = compile({y, x, y, sum(y)}, Backend::interp)->run(b);
    for (std::size_t k = 0; k < 3; ++k) CHECK(bitwise_equal(outs[k], ref[k]));
    CHECK(close(outs[3], ref[3], 1e-6, 0));
    const auto fresh = p->run(b);
    CHECK_FALSE(fresh[1].shares_storage_with(b.at("x")));
    CHECK_FALSE(fresh[0].shares_storage_with(fresh[2]));
}

TEST_CASE("jit: results do not depend on the number of threads", "[jit][threads]") {
    Graph g;
    const Shape shape{400, 3001};  // above the executor's 2^20-element threshold for using threads
    Value x = g.input("x", DType::f32, shape);
    Value y = sigmoid(x) * x;
    const std::vector<Value> outs{y, sum(y), mean(y, 0), sum(y * y, 1)};
    auto p = compile(outs, Backend::jit);
    Bindings b{{"x", Tensor::randn(DType::f32, shape, 8)}};
    omp_set_num_threads(1);
    const auto one = p->run(b);
    omp_set_num_threads(2);
    const auto two = p->run(b);
    omp_set_num_threads(5);
    const auto five = p->run(b);
    for (std::size_t k = 0; k < outs.size(); ++k) {
        CHECK(bitwise_equal(one[k], two[k]));
        CHECK(bitwise_equal(one[k], five[k]));
    }
    const auto ref = compile(outs, Backend::interp)->run(b);
    for (std::size_t k = 0; k < outs.size(); ++k) CHECK(close(one[k], ref[k], 1e-6, 1e-6));
}

TEST_CASE("jit: streaming (non-temporal) stores give the same bits", "[jit]") {
    // The executor asks for them only beyond the last-level cache (hundreds of MB); a plan
    // may ask for them at any size. An odd length leaves a masked tail, several chunks.
    const std::int64_t n = 300'003;
    Graph g;
    Value x = g.input("x", DType::f32, Shape{n});
    Value y = sigmoid(2.0 * x + 0.5) * relu(x);
    const std::vector<Value> outs{y, grad(y, x, g.input("gy", DType::f32, Shape{n}))};
    jit::Plan plan = jit::fuse(outs);
    REQUIRE(plan.kernels.size() == 1);
    CHECK_FALSE(plan.kernels[0].spec.streaming_stores);
    plan.kernels[0].spec.streaming_stores = true;
    const jit::JitProgram program(std::move(plan));
    REQUIRE(program.plan().kernels[0].spec.streaming_stores);
    const std::string asm_text = jit::Engine::instance().inspect(program.plan().kernels[0].spec).assembly;
    if (jit::Engine::instance().vector_bits() >= 256) CHECK(asm_text.find("vmovntp") != std::string::npos);
    Bindings b{{"x", Tensor::randn(DType::f32, Shape{n}, 21)}, {"gy", Tensor::randn(DType::f32, Shape{n}, 22)}};
    const auto got = program.run(b);
    const auto ref = compile(outs, Backend::interp)->run(b);
    for (std::size_t k = 0; k < outs.size(); ++k) CHECK(bitwise_equal(got[k], ref[k]));
}

TEST_CASE("jit: every float where exp, sigmoid, elu, gelu round to subnormals or overflow gives the interpreter's bits",
          "[jit][vmath]") {
    // Where vmath's a * 2^n is rounded (the JIT does it in one vscalef on AVX-512 hosts).
    std::vector<float> xs;
    auto all_floats = [&](float lo, float hi) {
        for (float f = lo; f <= hi; f = std::nextafter(f, std::numeric_limits<float>::infinity())) xs.push_back(f);
    };
    all_floats(-104.5f, -80.0f);  // exp, sigmoid, elu: subnormal results, and rounding to 0
    all_floats(80.0f, 89.5f);     // exp: the largest finite results and overflow
    all_floats(-14.5f, -11.5f);   // gelu: erfc(-x / sqrt 2) with subnormal results
    const auto n = static_cast<std::int64_t>(xs.size());
    Tensor t = Tensor::empty(DType::f32, Shape{n});
    std::copy(xs.begin(), xs.end(), t.data<float>());
    Graph g;
    Value x = g.input("x", DType::f32, Shape{n});
    const std::vector<Value> outs{exp(x), sigmoid(x), elu(x), gelu(x)};
    const Bindings b{{"x", t}};
    const auto got = compile(outs, Backend::jit)->run(b);
    const auto ref = compile(outs, Backend::interp)->run(b);
    for (std::size_t k = 0; k < outs.size(); ++k) CHECK(bitwise_equal(got[k], ref[k]));
}

TEST_CASE("jit: float64 erfc over every piece, its subnormal tail and its clamp gives the interpreter's bits",
          "[jit][vmath]") {
    // vmath's float64 erfc (no libm): the piece boundaries, the deep tail where exp(-a^2) * 2^n
    // is scaled by n down to -1080, NaN and the infinities, forward and gradient.
    std::vector<double> xs{0.0, -0.0, 0.46875, 1.25, 2.5, 27.3, -27.3, std::numeric_limits<double>::infinity(),
                           -std::numeric_limits<double>::infinity(), std::numeric_limits<double>::quiet_NaN()};
    for (double v = -6.0; v <= 28.0; v += 1.0 / 1024) xs.push_back(v);
    for (double v = 26.0; v <= 27.4; v += 1.0 / 65536) xs.push_back(v);  // results from 1e-300 to 0
    const auto n = static_cast<std::int64_t>(xs.size());
    Tensor t = Tensor::empty(DType::f64, Shape{n});
    std::copy(xs.begin(), xs.end(), t.data<double>());
    Graph g;
    Value x = g.input("x", DType::f64, Shape{n});
    const Value y = erfc(x);
    const std::vector<Value> outs{y, gelu(x), grad(sum(y), x)};
    const Bindings b{{"x", t}};
    const auto got = compile(outs, Backend::jit)->run(b);
    const auto ref = compile(outs, Backend::interp)->run(b);
    for (std::size_t k = 0; k < outs.size(); ++k) CHECK(bitwise_equal(got[k], ref[k]));
    CHECK(got[0].data<double>()[5] == 0.0);  // erfc(27.3) rounds to 0
    CHECK(got[0].data<double>()[6] == 2.0);
}

// The code generator drops a clamp of exp's argument that its sign makes idle (sigmoid and
// softplus take exp(-|x|), tanh exp(2|x|)): a sweep of float bit patterns over the whole range,
// with both zeros, both infinities and quiet and signalling NaNs, bit for bit (a NaN for a NaN:
// which of two NaN operands a product keeps depends on the operand order each compiler picks).
TEST_CASE("jit: exp-based ops on a sweep of every 4093rd float give the interpreter's bits", "[jit][vmath]") {
    std::vector<float> xs;
    for (std::uint64_t bits = 0; bits <= 0xffffffffu; bits += 4093) xs.push_back(std::bit_cast<float>(static_cast<std::uint32_t>(bits)));
    for (std::uint32_t bits : {0x00000000u, 0x80000000u, 0x7f800000u, 0xff800000u, 0x7fc00001u, 0xffc12345u, 0x7f800001u, 0xff812345u})
        xs.push_back(std::bit_cast<float>(bits));
    const auto n = static_cast<std::int64_t>(xs.size());
    Tensor t = Tensor::empty(DType::f32, Shape{n});
    std::copy(xs.begin(), xs.end(), t.data<float>());
    Graph g;
    Value x = g.input("x", DType::f32, Shape{n});
    const std::vector<Value> outs{exp(x), sigmoid(x), tanh(x), softplus(x), sigmoid(x * 2.0 + 0.5) * relu(x)};
    const Bindings b{{"x", t}};
    const auto got = compile(outs, Backend::jit)->run(b);
    const auto ref = compile(outs, Backend::interp)->run(b);
    for (std::size_t k = 0; k < outs.size(); ++k) {
        INFO(fmt::format("output {}", k));
        CHECK(bitwise_equal(got[k], ref[k]));
    }
}

TEST_CASE("jit: tanh and sigmoid, forward and gradient, give the interpreter's bits on every 4099th float",
          "[jit][vmath]") {
    // Every exponent and the whole range of vmath::tanh's reduction (n = 0..29, the clamp), which
    // random normal inputs reach only in part.
    std::vector<float> xs;
    for (std::uint64_t bits = 0; bits < (std::uint64_t{1} << 32); bits += 4099) {
        const auto x = std::bit_cast<float>(static_cast<std::uint32_t>(bits));
        if (!std::isnan(x)) xs.push_back(x);
    }
    const auto n = static_cast<std::int64_t>(xs.size());
    Tensor t = Tensor::empty(DType::f32, Shape{n});
    std::copy(xs.begin(), xs.end(), t.data<float>());
    Graph g;
    Value x = g.input("x", DType::f32, Shape{n});
    Value gy = g.input("gy", DType::f32, Shape{n});
    std::vector<Value> outs;
    for (Value y : {tanh(x), sigmoid(x)}) outs.insert(outs.end(), {y, grad(y, x, gy)});
    const Bindings b{{"x", t}, {"gy", Tensor::randn(DType::f32, Shape{n}, 23)}};
    const auto got = compile(outs, Backend::jit)->run(b);
    const auto ref = compile(outs, Backend::interp)->run(b);
    for (std::size_t k = 0; k < outs.size(); ++k) {
        INFO("output " << k);
        CHECK(bitwise_equal(got[k], ref[k]));
    }
}

TEST_CASE("jit: structural ops and losses (the interpreter's kernels between fused loops)", "[jit]") {
    for (DType dtype : {DType::f32, DType::f64}) {
        Graph g;
        Value x = g.input("x", dtype, Shape{8, 5});
        Value w = g.parameter("w", dtype, Shape{5, 3});
        Value b = g.parameter("b", dtype, Shape{3});
        Value t = g.input("t", dtype, Shape{8, 3});
        Value h = tanh(matmul(x, w) + b);
        Value other = cast(h, dtype == DType::f32 ? DType::f64 : DType::f32);
        Value s = softmax(h, 1) + log_softmax(h, 0);
        Value loss = cross_entropy(h, t) + mse(h, t) + mean(transpose(s) * 2.0) + sum(reshape(h, Shape{24})) +
                     sum(max(h, 0) * 3.0) + min(h);
        const Value wrt[] = {x, w, b};
        auto grads = grad(loss, wrt);
        const std::vector<Value> outs{loss, other, s, grads[0], grads[1], grads[2]};
        Bindings bind{{"x", Tensor::randn(dtype, Shape{8, 5}, 1)}, {"w", Tensor::randn(dtype, Shape{5, 3}, 2)},
                      {"b", Tensor::randn(dtype, Shape{3}, 3)}, {"t", Tensor::rand(dtype, Shape{8, 3}, 4)}};
        const Results r = run_both(outs, bind);
        const double tol = dtype == DType::f32 ? 1e-5 : 1e-12;
        for (std::size_t k = 0; k < outs.size(); ++k) {
            INFO(fmt::format("{} output {}", dtype, k));
            CHECK(close(r.jit[k], r.interp[k], tol, tol));
        }
    }
}

TEST_CASE("jit: softmax and log_softmax along any axis are kernels giving the interpreter's bits", "[jit]") {
    // Rows shorter and longer than the 16 running lanes, with and without a rest; several
    // chunks of rows (2^18 elements and more); NaN, infinities and all -inf rows (test_data); a row
    // read through a reshape, one after elementwise work, and one written over its input.
    // Along the other axes: slices side by side fewer than, as many as and more than a
    // vector's lanes, with a rest or none; one row of 256 or 300 slices split across chunks
    // (under 4 MiB in float64 too).
    const Shape shapes[] = {Shape{1},     Shape{15},      Shape{16},       Shape{17},
                            Shape{3, 10}, Shape{5, 1037}, Shape{2, 3, 33}, Shape{1025, 256},
                            Shape{1001, 300}};
    for (DType dtype : {DType::f32, DType::f64}) {
        for (const Shape& shape : shapes) {
            Graph g;
            Value x = g.input("x", dtype, shape);
            Value flat = reshape(x * 2.0 - 1.0, Shape{shape.numel()});
            std::vector<Value> outs{softmax(x), log_softmax(x), softmax(tanh(x) * 3.0), log_softmax(flat),
                                    exp(log_softmax(x)) - softmax(x)};
            for (std::int64_t axis = 0; axis + 1 < shape.rank(); ++axis) {
                outs.push_back(softmax(x, axis));
                outs.push_back(log_softmax(x * 0.5, axis));
            }
            Tensor data = test_data(dtype, shape, 21);
            if (shape.rank() == 2 && shape[0] > 2)  // a row of -inf only: 0/0 in softmax
                for (std::int64_t j = shape[1]; j < 2 * shape[1]; ++j) {
                    if (dtype == DType::f32) data.data<float>()[j] = -INFINITY;
                    else data.data<double>()[j] = -INFINITY;
                }
            const Bindings b{{"x", data}};
            const Results r = run_both(outs, b);
            for (std::size_t k = 0; k < outs.size(); ++k) {
                INFO(fmt::format("{} {} output {}", dtype, shape, k));
                CHECK(bitwise_equal(r.jit[k], r.interp[k]));
            }
            const std::string plan = inspect_jit(outs).fused_plan;
            CHECK_THAT(plan, Catch::Matchers::Contains("=softmax"));
            CHECK_THAT(plan, Catch::Matchers::Contains("=log_softmax"));
            CHECK_THAT(plan, !Catch::Matchers::Contains("node   %"));  // no interpreter step
        }
    }
    // A row of many slices past 4 MiB stays the interpreter's step (faster there).
    {
        Graph g;
        const Value x = g.input("x", DType::f32, Shape{8193, 128});
        CHECK_THAT(inspect_jit({softmax(x, 0)}).fused_plan, Catch::Matchers::Contains("node   %"));
        CHECK_THAT(inspect_jit({softmax(x, 1)}).fused_plan, !Catch::Matchers::Contains("node   %"));
    }
    // Written over its own input (declared in place): the same values.
    Graph g;
    Value x = g.input("x", DType::f32, Shape{64, 100});
    for (Value y : {softmax(x), log_softmax(x), softmax(x, 0), log_softmax(x, 0)}) {
        const Tensor data = test_data(DType::f32, Shape{64, 100}, 5);
        const Tensor want = compile({y}, Backend::interp)->run({{"x", data}})[0];
        Tensor in_place = data.clone();
        std::vector<Tensor> outputs{in_place};
        compile({y}, Backend::jit, {InPlace{0, "x"}})->run_into({{"x", in_place}}, outputs);
        CHECK(bitwise_equal(in_place, want));
    }
}

TEST_CASE("jit: inputs bound to non-contiguous tensors", "[jit]") {
    Graph g;
    Value x = g.input("x", DType::f32, Shape{7, 9});
    Value y = sigmoid(x) * 3.0 - x;
    const Tensor base = Tensor::randn(DType::f32, Shape{9, 7}, 6);
    Bindings b{{"x", base.transpose()}};
    const Results r = run_both({y}, b);
    CHECK(bitwise_equal(r.jit[0], r.interp[0]));
}
