// Forward values of every op, in float32 and float64, run by the interpreter and compared with
// references computed here in double from the same (dtype-rounded) inputs with the standard
// library, plus the special values users trip over (overflow, tiny arguments, NaN).
//
// Tolerances, relative to the reference:
//  - exact ops (add sub mul div neg abs sqrt relu maximum minimum where, layout ops): equal to
//    the reference rounded to the dtype (IEEE operations are correctly rounded, and rounding a
//    double result of two floats to float is innocuous for + - * / sqrt);
//  - float64 transcendentals: 1e-14 (std:: functions are within 1-2 ulp = 2.2e-16 each; the
//    compositions below chain up to ~5 operations);
//  - float32 transcendentals: 2e-6. ScalarMath<float> uses vmath's polynomial approximations,
//    bounded by 4 ulp (1 ulp <= 1.2e-7 relative); a composition chains up to ~5 roundings and
//    functions, whose condition number is at most ~3 on the ranges tested: <= ~16 ulp.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <span>
#include <functional>
#include <limits>
#include <numbers>

#include "nnjit/autodiff.hpp"
#include "nnjit/graph_ops.hpp"
#include "nnjit/interpreter.hpp"

using namespace nnjit;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

double transcendental_tol(DType dtype) { return dtype == DType::f32 ? 2e-6 : 1e-14; }

using Builder = std::function<Value(std::span<const Value>)>;

// Runs f on inputs bound to `args` converted to `dtype`.
Tensor run_op(DType dtype, const std::vector<Tensor>& args, const Builder& f) {
    Graph g;
    std::vector<Value> xs;
    Bindings b;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string name = fmt::format("x{}", i);
        xs.push_back(g.input(name, dtype, args[i].shape()));
        b[name] = args[i].to(dtype);
    }
    const Value y = f(xs);
    REQUIRE(y.dtype() == dtype);
    return Interpreter({y}).run(b)[0];
}

Tensor vec(std::vector<double> v) {
    const auto n = static_cast<std::int64_t>(v.size());
    return Tensor::from<double>(Shape{n}, std::span<const double>(v));
}

// The values a tensor holds once converted to `dtype`, as doubles: what the reference sees.
std::vector<double> rounded(const Tensor& t, DType dtype) { return t.to(dtype).to_doubles(); }

double round_to(DType dtype, double v) { return dtype == DType::f32 ? static_cast<double>(static_cast<float>(v)) : v; }

// got[i] == ref[i] rounded to dtype (NaN matches NaN).
void check_exact(const Tensor& got, const std::vector<double>& ref) {
    const auto g = got.to_doubles();
    REQUIRE(g.size() == ref.size());
    for (std::size_t i = 0; i < g.size(); ++i) {
        const double want = round_to(got.dtype(), ref[i]);
        INFO("element " << i << ": got " << g[i] << ", want " << want);
        if (std::isnan(want)) CHECK(std::isnan(g[i]));
        else CHECK(g[i] == want);
    }
}

void check_close(const Tensor& got, const std::vector<double>& ref, double rel) {
    const auto g = got.to_doubles();
    REQUIRE(g.size() == ref.size());
    for (std::size_t i = 0; i < g.size(); ++i) {
        INFO(fmt::format("element {}: got {:.17g}, want {:.17g}, rel tol {}", i, g[i], ref[i], rel));
        if (std::isnan(ref[i])) CHECK(std::isnan(g[i]));
        else if (std::isinf(ref[i])) CHECK(g[i] == ref[i]);
        else CHECK(std::abs(g[i] - ref[i]) <= rel * std::abs(ref[i]));
    }
}

std::vector<double> map(const std::vector<double>& xs, const std::function<double(double)>& f) {
    std::vector<double> out;
    for (double x : xs) out.push_back(f(x));
    return out;
}
std::vector<double> map2(const std::vector<double>& a, const std::vector<double>& b,
                         const std::function<double(double, double)>& f) {
    std::vector<double> out;
    for (std::size_t i = 0; i < a.size(); ++i) out.push_back(f(a[i], b[i]));
    return out;
}

const std::vector<double> kPoints = {-3.0, -1.5, -0.7, -0.1, -1e-3, 1e-3, 0.25, 0.9, 2.0, 3.5};
const std::vector<double> kPositive = {1e-3, 0.1, 0.5, 1.0, 2.0, 10.0, 1000.0};

double ref_sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }
double ref_gelu(double x) { return 0.5 * x * (1.0 + std::erf(x / std::numbers::sqrt2)); }
double ref_softplus(double x) { return std::log1p(std::exp(x)); }

}  // namespace

TEST_CASE("forward: exact elementwise ops", "[interp][forward]") {
    const Tensor a = vec({-3.5, -1.25, -0.0, 0.0, 0.1, 2.0, 7.75, 1e30});
    const Tensor b = vec({2.0, -0.5, 3.0, -4.0, 0.3, 2.0, -1e-3, 1e-10});
    for (DType dtype : {DType::f32, DType::f64}) {
        INFO(dtype_name(dtype));
        const auto x = rounded(a, dtype), y = rounded(b, dtype);
        check_exact(run_op(dtype, {a, b}, [](auto v) { return v[0] + v[1]; }), map2(x, y, std::plus<>()));
        check_exact(run_op(dtype, {a, b}, [](auto v) { return v[0] - v[1]; }), map2(x, y, std::minus<>()));
        check_exact(run_op(dtype, {a, b}, [](auto v) { return v[0] * v[1]; }), map2(x, y, std::multiplies<>()));
        check_exact(run_op(dtype, {a, b}, [](auto v) { return v[0] / v[1]; }), map2(x, y, std::divides<>()));
        check_exact(run_op(dtype, {a}, [](auto v) { return -v[0]; }), map(x, [](double t) { return -t; }));
        check_exact(run_op(dtype, {a}, [](auto v) { return abs(v[0]); }), map(x, [](double t) { return std::abs(t); }));
        check_exact(run_op(dtype, {a}, [](auto v) { return relu(v[0]); }),
                    map(x, [](double t) { return t > 0 ? t : 0.0; }));
        check_exact(run_op(dtype, {a, b}, [](auto v) { return maximum(v[0], v[1]); }),
                    map2(x, y, [](double p, double q) { return std::max(p, q); }));
        check_exact(run_op(dtype, {a, b}, [](auto v) { return minimum(v[0], v[1]); }),
                    map2(x, y, [](double p, double q) { return std::min(p, q); }));
        check_exact(run_op(dtype, {a, b}, [](auto v) { return greater(v[0], v[1]); }),
                    map2(x, y, [](double p, double q) { return p > q ? 1.0 : 0.0; }));
        check_exact(run_op(dtype, {a, b}, [](auto v) { return equal(v[0], v[1]); }),
                    map2(x, y, [](double p, double q) { return p == q ? 1.0 : 0.0; }));
        const Tensor c = vec({1, 0, 0, 1, -2, 0, 1, 0});
        std::vector<double> chosen;
        for (std::size_t i = 0; i < x.size(); ++i) chosen.push_back(c.flat(static_cast<std::int64_t>(i)) != 0 ? x[i] : y[i]);
        check_exact(run_op(dtype, {c, a, b}, [](auto v) { return where(v[0], v[1], v[2]); }), chosen);
        const Tensor pos = vec(kPositive);
        check_exact(run_op(dtype, {pos}, [](auto v) { return sqrt(v[0]); }),
                    map(rounded(pos, dtype), [](double t) { return std::sqrt(t); }));
        // Scalars meet tensors in the tensor's dtype.
        check_exact(run_op(dtype, {a}, [](auto v) { return 2.0 * v[0] + 0.5; }),
                    map(x, [](double t) { return 2.0 * t + 0.5; }));
    }
}

TEST_CASE("forward: ops with a slope", "[interp][forward]") {
    const Tensor a = vec({-3.0, -0.5, 0.0, 0.75, 4.0});
    const Tensor slope = vec({0.25, 0.5, 2.0, -1.0, 0.125});
    for (DType dtype : {DType::f32, DType::f64}) {
        INFO(dtype_name(dtype));
        const auto x = rounded(a, dtype);
        // 0.25 and the slopes are exact in both dtypes, so the products are exact.
        check_exact(run_op(dtype, {a}, [](auto v) { return leaky_relu(v[0], 0.25); }),
                    map(x, [](double t) { return t > 0 ? t : 0.25 * t; }));
        check_exact(run_op(dtype, {a, slope}, [](auto v) { return prelu(v[0], v[1]); }),
                    map2(x, slope.to_doubles(), [](double t, double s) { return t > 0 ? t : s * t; }));
        // The default alpha 0.01 is rounded to the dtype first.
        const double alpha = round_to(dtype, 0.01);
        check_exact(run_op(dtype, {a}, [](auto v) { return leaky_relu(v[0]); }),
                    map(x, [&](double t) { return t > 0 ? t : round_to(dtype, alpha * t); }));
        // prelu's slope broadcasts (one per column).
        const Tensor m = Tensor::from<double>(Shape{2, 2}, {-1, 2, -3, -4});
        check_exact(run_op(dtype, {m, vec({0.5, 0.25})}, [](auto v) { return prelu(v[0], v[1]); }),
                    {-0.5, 2, -1.5, -1});
        check_close(run_op(dtype, {a}, [](auto v) { return elu(v[0], 1.5); }),
                    map(x, [](double t) { return t > 0 ? t : 1.5 * std::expm1(t); }), transcendental_tol(dtype));
        // clamp: the bounds where x is beyond them, x itself at and between them, NaN kept;
        // an infinite bound leaves that side open.
        check_exact(run_op(dtype, {a}, [](auto v) { return clamp(v[0], -0.5, 0.75); }), {-0.5, -0.5, 0, 0.75, 0.75});
        check_exact(run_op(dtype, {a}, [](auto v) { return clamp(v[0], 0, INFINITY); }), {0, 0, 0, 0.75, 4});
        check_exact(run_op(dtype, {a}, [](auto v) { return clamp(v[0], 1, 1); }), {1, 1, 1, 1, 1});
        CHECK(std::isnan(run_op(dtype, {vec({NAN})}, [](auto v) { return clamp(v[0], 0, 1); }).flat(0)));
    }
    Graph g;
    const Value x = g.input("x", DType::f32, Shape{2});
    CHECK_THROWS_WITH(clamp(x, 1, -1), "clamp: the bounds must have lo <= hi, got lo = 1, hi = -1");
    CHECK_THROWS_WITH(clamp(x, NAN, 1), "clamp: the bounds must have lo <= hi, got lo = nan, hi = 1");
}

TEST_CASE("forward: transcendental ops against std:: in double", "[interp][forward]") {
    const Tensor p = vec(kPoints);
    const Tensor pos = vec(kPositive);
    for (DType dtype : {DType::f32, DType::f64}) {
        INFO(dtype_name(dtype));
        const double tol = transcendental_tol(dtype);
        const auto x = rounded(p, dtype);
        const auto xp = rounded(pos, dtype);
        SECTION("exp") {
            check_close(run_op(dtype, {p}, [](auto v) { return exp(v[0]); }), map(x, [](double t) { return std::exp(t); }),
                        tol);
        }
        SECTION("log") {
            check_close(run_op(dtype, {pos}, [](auto v) { return log(v[0]); }),
                        map(xp, [](double t) { return std::log(t); }), tol);
        }
        SECTION("sigmoid") {
            check_close(run_op(dtype, {p}, [](auto v) { return sigmoid(v[0]); }), map(x, ref_sigmoid), tol);
        }
        SECTION("tanh") {
            check_close(run_op(dtype, {p}, [](auto v) { return tanh(v[0]); }),
                        map(x, [](double t) { return std::tanh(t); }), tol);
        }
        SECTION("silu") {
            check_close(run_op(dtype, {p}, [](auto v) { return silu(v[0]); }),
                        map(x, [](double t) { return t * ref_sigmoid(t); }), tol);
        }
        SECTION("gelu (erf form)") {
            check_close(run_op(dtype, {p}, [](auto v) { return gelu(v[0]); }), map(x, ref_gelu), tol);
        }
        SECTION("softplus") {
            check_close(run_op(dtype, {p}, [](auto v) { return softplus(v[0]); }), map(x, ref_softplus), tol);
        }
        SECTION("erfc") {
            check_close(run_op(dtype, {p}, [](auto v) { return erfc(v[0]); }),
                        map(x, [](double t) { return std::erfc(t); }), tol);
        }
        SECTION("elu") {
            check_close(run_op(dtype, {p}, [](auto v) { return elu(v[0]); }),
                        map(x, [](double t) { return t > 0 ? t : std::expm1(t); }), tol);
        }
        SECTION("expm1 and log1p, relative accuracy near 0 included") {
            const Tensor near0 = vec({1e-30, -1e-20, 1e-8, -3e-6, 1e-3, -0.2, 0.7, -0.99, 5.0, 60.0});
            const auto xn = rounded(near0, dtype);
            check_close(run_op(dtype, {p}, [](auto v) { return expm1(v[0]); }),
                        map(x, [](double t) { return std::expm1(t); }), tol);
            check_close(run_op(dtype, {near0}, [](auto v) { return expm1(v[0]); }),
                        map(xn, [](double t) { return std::expm1(t); }), tol);
            check_close(run_op(dtype, {near0}, [](auto v) { return log1p(v[0]); }),
                        map(xn, [](double t) { return std::log1p(t); }), tol);
        }
    }
}

TEST_CASE("forward: special values", "[interp][forward]") {
    for (DType dtype : {DType::f32, DType::f64}) {
        INFO(dtype_name(dtype));
        SECTION("expm1 saturates at exactly -1 with a gradient of exactly 0; log1p at -1 and below") {
            Graph g;
            const Value x = g.input("x", dtype, Shape{6});
            const Value e = expm1(x), l = log1p(x);
            const auto out = Interpreter({e, grad(e, x), l, grad(l, x)})
                                 .run({{"x", vec({-kInf, -1000, -0.0, 0.0, 1000, kInf}).to(dtype)}});
            CHECK(out[0].to_doubles() == std::vector<double>{-1, -1, -0.0, 0, kInf, kInf});
            CHECK(std::signbit(out[0].flat(2)));
            CHECK(out[1].to_doubles() == std::vector<double>{0, 0, 1, 1, kInf, kInf});
            const auto lx = Interpreter({l, grad(l, x)}).run({{"x", vec({-2, -1, -0.0, 0.0, kInf, 1e30}).to(dtype)}});
            const auto lv = lx[0].to_doubles();
            CHECK(std::isnan(lv[0]));
            CHECK(lv[1] == -kInf);
            CHECK((lv[2] == 0 && std::signbit(lv[2])));
            CHECK((lv[3] == 0 && !std::signbit(lv[3])));
            CHECK(lv[4] == kInf);
            CHECK(std::abs(lv[5] - std::log1p(1e30)) < 1e-5);
            CHECK(lx[1].to_doubles()[1] == kInf);  // 1 / (1 + -1)
        }
        SECTION("sigmoid(+-1000) is exactly 1 and 0, with a gradient of exactly 0") {
            Graph g;
            const Value x = g.input("x", dtype, Shape{4});
            const Value y = sigmoid(x);
            const auto out = Interpreter({y, grad(y, x)}).run({{"x", vec({-1000, 1000, -30, 100}).to(dtype)}});
            const auto ys = out[0].to_doubles();
            const auto gx = out[1].to_doubles();
            CHECK(ys[0] == 0.0);
            CHECK(ys[1] == 1.0);
            CHECK(ys[3] == 1.0);
            CHECK(gx[0] == 0.0);
            CHECK(gx[1] == 0.0);
            CHECK(gx[3] == 0.0);
            // Far out on the negative side sigmoid keeps its relative accuracy (no 1 - 1 + tiny).
            const double s30 = ref_sigmoid(-30);
            CHECK(std::abs(ys[2] - s30) <= transcendental_tol(dtype) * s30);
            CHECK(std::abs(gx[2] - s30 * (1 - s30)) <= transcendental_tol(dtype) * s30);
        }
        SECTION("tanh is accurate near 0") {
            const Tensor small = vec({1e-5, -1e-5, 1e-8, 1e-20, 3e-3});
            const auto xs = rounded(small, dtype);
            // Relative accuracy of a few ulp: a tanh computed as (e^2x - 1)/(e^2x + 1) loses
            // everything here (relative error ~1e-3 at 1e-5 in float32).
            check_close(run_op(dtype, {small}, [](auto v) { return tanh(v[0]); }),
                        map(xs, [](double t) { return std::tanh(t); }), dtype == DType::f32 ? 5e-7 : 1e-15);
            CHECK(run_op(dtype, {vec({0.0, -0.0})}, [](auto v) { return tanh(v[0]); }).to_doubles() ==
                  std::vector<double>{0.0, -0.0});
            CHECK(std::signbit(run_op(dtype, {vec({-0.0})}, [](auto v) { return tanh(v[0]); }).flat(0)));
            CHECK(run_op(dtype, {vec({1000, -1000})}, [](auto v) { return tanh(v[0]); }).to_doubles() ==
                  std::vector<double>{1, -1});
        }
        SECTION("softplus does not overflow and stays accurate far out") {
            const auto y = run_op(dtype, {vec({1000, -1000, -50, 50})}, [](auto v) { return softplus(v[0]); });
            CHECK(y.flat(0) == 1000.0);
            CHECK_FALSE(std::isnan(y.flat(1)));
            CHECK(y.flat(1) >= 0.0);
            CHECK(y.flat(1) < 1e-300);
            // softplus(-50) = log1p(e^-50) ~ e^-50: relative accuracy kept
            CHECK(std::abs(y.flat(2) - std::exp(-50.0)) <= transcendental_tol(dtype) * std::exp(-50.0));
            CHECK(y.flat(3) == 50.0);
        }
        SECTION("log_softmax and softmax of [1000, 0] are finite and right") {
            const Tensor x = Tensor::from<double>(Shape{1, 2}, {1000, 0});
            const auto ls = run_op(dtype, {x}, [](auto v) { return log_softmax(v[0]); }).to_doubles();
            CHECK(ls[0] == 0.0);  // -log1p(e^-1000) rounds to 0
            CHECK(ls[1] == -1000.0);
            const auto sm = run_op(dtype, {x}, [](auto v) { return softmax(v[0]); }).to_doubles();
            CHECK(sm == std::vector<double>{1.0, 0.0});
            const auto big = run_op(dtype, {Tensor::from<double>(Shape{3}, {-1000, -1000, -1000})},
                                    [](auto v) { return log_softmax(v[0]); });
            check_close(big, std::vector<double>(3, -std::log(3.0)), transcendental_tol(dtype));
        }
        SECTION("exp, log and sqrt at the edges of their domains") {
            CHECK(run_op(dtype, {vec({1000, -1000})}, [](auto v) { return exp(v[0]); }).to_doubles() ==
                  std::vector<double>{kInf, 0.0});
            const auto l = run_op(dtype, {vec({0.0, -1.0, kInf})}, [](auto v) { return log(v[0]); }).to_doubles();
            CHECK(l[0] == -kInf);
            CHECK(std::isnan(l[1]));
            CHECK(l[2] == kInf);
            CHECK(std::isnan(run_op(dtype, {vec({-1.0})}, [](auto v) { return sqrt(v[0]); }).flat(0)));
            // relu(-0) is +0, as in PyTorch
            CHECK_FALSE(std::signbit(run_op(dtype, {vec({-0.0})}, [](auto v) { return relu(v[0]); }).flat(0)));
        }
        SECTION("gelu far out keeps relative accuracy (erfc form)") {
            const auto y = run_op(dtype, {vec({-8.0, 8.0})}, [](auto v) { return gelu(v[0]); });
            const double want = 0.5 * -8.0 * std::erfc(8.0 / std::numbers::sqrt2);  // ~ -5e-15
            CHECK(std::abs(y.flat(0) - want) <= 1e-5 * std::abs(want));  // erfc's condition number ~ 64 here
            CHECK(y.flat(1) == 8.0);
        }
    }
}

TEST_CASE("forward: NaN propagates through every elementwise op", "[interp][forward]") {
    // Every unary op gives NaN for NaN; binary arithmetic and maximum/minimum give NaN when
    // either operand is NaN. The documented exceptions follow PyTorch's select semantics:
    //   prelu(x > 0, slope NaN) = x (the slope is not used for positive x);
    //   where(NaN, a, b) = a (NaN counts as non-zero); greater/equal with NaN give 0.
    const std::vector<std::pair<const char*, std::function<Value(Value)>>> unary = {
        {"neg", [](Value x) { return -x; }},
        {"exp", [](Value x) { return exp(x); }},
        {"log", [](Value x) { return log(x); }},
        {"sqrt", [](Value x) { return sqrt(x); }},
        {"abs", [](Value x) { return abs(x); }},
        {"relu", [](Value x) { return relu(x); }},
        {"leaky_relu", [](Value x) { return leaky_relu(x); }},
        {"sigmoid", [](Value x) { return sigmoid(x); }},
        {"tanh", [](Value x) { return tanh(x); }},
        {"elu", [](Value x) { return elu(x); }},
        {"silu", [](Value x) { return silu(x); }},
        {"gelu", [](Value x) { return gelu(x); }},
        {"softplus", [](Value x) { return softplus(x); }},
        {"erfc", [](Value x) { return erfc(x); }},
        {"expm1", [](Value x) { return expm1(x); }},
        {"log1p", [](Value x) { return log1p(x); }},
    };
    const std::vector<std::pair<const char*, std::function<Value(Value, Value)>>> binary = {
        {"add", [](Value a, Value b) { return a + b; }},
        {"sub", [](Value a, Value b) { return a - b; }},
        {"mul", [](Value a, Value b) { return a * b; }},
        {"div", [](Value a, Value b) { return a / b; }},
        {"maximum", [](Value a, Value b) { return maximum(a, b); }},
        {"minimum", [](Value a, Value b) { return minimum(a, b); }},
    };
    for (DType dtype : {DType::f32, DType::f64}) {
        INFO(dtype_name(dtype));
        const Tensor nan = vec({kNaN, -kNaN});
        for (const auto& [name, f] : unary) {
            INFO(name);
            const auto y = run_op(dtype, {nan}, [&](auto v) { return f(v[0]); }).to_doubles();
            CHECK(std::isnan(y[0]));
            CHECK(std::isnan(y[1]));
        }
        const Tensor mixed = vec({kNaN, 1.0, kNaN, -5.0});
        const Tensor other = vec({2.0, kNaN, kNaN, -7.0});
        for (const auto& [name, f] : binary) {
            INFO(name);
            const auto y = run_op(dtype, {mixed, other}, [&](auto v) { return f(v[0], v[1]); }).to_doubles();
            CHECK(std::isnan(y[0]));
            CHECK(std::isnan(y[1]));
            CHECK(std::isnan(y[2]));
            CHECK_FALSE(std::isnan(y[3]));
        }
        // prelu: NaN input gives NaN; a NaN slope only matters where x <= 0.
        const auto pr = run_op(dtype, {vec({kNaN, 2.0, -2.0}), vec({0.5, kNaN, kNaN})},
                               [](auto v) { return prelu(v[0], v[1]); })
                            .to_doubles();
        CHECK(std::isnan(pr[0]));
        CHECK(pr[1] == 2.0);
        CHECK(std::isnan(pr[2]));
        // where: NaN in the chosen branch propagates, in the other does not; a NaN condition picks a.
        const auto wh = run_op(dtype, {vec({1, 0, kNaN}), vec({kNaN, kNaN, 3}), vec({4, 5, kNaN})},
                               [](auto v) { return where(v[0], v[1], v[2]); })
                            .to_doubles();
        CHECK(std::isnan(wh[0]));
        CHECK(wh[1] == 5.0);
        CHECK(wh[2] == 3.0);
        CHECK(run_op(dtype, {vec({kNaN, kNaN}), vec({kNaN, 1})}, [](auto v) { return greater(v[0], v[1]) + equal(v[0], v[1]); })
                  .to_doubles() == std::vector<double>{0, 0});
        // Reductions and softmax: NaN poisons the sum and the whole softmax slice only.
        const Tensor m = Tensor::from<double>(Shape{2, 2}, {kNaN, 1, 2, 3});
        const auto s = run_op(dtype, {m}, [](auto v) { return sum(v[0], 1); }).to_doubles();
        CHECK(std::isnan(s[0]));
        CHECK(s[1] == 5.0);
        const auto sm = run_op(dtype, {m}, [](auto v) { return softmax(v[0]); }).to_doubles();
        CHECK(std::isnan(sm[0]));
        CHECK(std::isnan(sm[1]));
        CHECK_FALSE(std::isnan(sm[2]));
    }
}

namespace {

// C = A B by the definition, in double.
std::vector<double> naive_matmul(const Tensor& a, const Tensor& b) {
    const std::int64_t m = a.shape()[0], k = a.shape()[1], n = b.shape()[1];
    std::vector<double> c(static_cast<std::size_t>(m * n), 0.0);
    for (std::int64_t i = 0; i < m; ++i)
        for (std::int64_t j = 0; j < n; ++j) {
            double acc = 0;
            for (std::int64_t p = 0; p < k; ++p) acc += a.at({i, p}) * b.at({p, j});
            c[static_cast<std::size_t>(i * n + j)] = acc;
        }
    return c;
}

// |got - want| <= tol * sum_p |a_ip b_pj|: the error bound of any summation order.
void check_matmul(const Tensor& got, const Tensor& a, const Tensor& b, double tol) {
    const auto want = naive_matmul(a, b);
    const auto abs_a = map(a.to_doubles(), [](double v) { return std::abs(v); });
    const Tensor aa = Tensor::from<double>(a.shape(), std::span<const double>(abs_a));
    const auto abs_b = map(b.to_doubles(), [](double v) { return std::abs(v); });
    const auto scale = naive_matmul(aa, Tensor::from<double>(b.shape(), std::span<const double>(abs_b)));
    REQUIRE(got.shape() == Shape{a.shape()[0], b.shape()[1]});
    const auto g = got.to_doubles();
    for (std::size_t i = 0; i < g.size(); ++i) {
        INFO("element " << i << ": got " << g[i] << ", want " << want[i]);
        CHECK(std::abs(g[i] - want[i]) <= tol * scale[i]);
    }
}

}  // namespace

TEST_CASE("forward: matmul against a naive triple loop, including transposed views", "[interp][forward]") {
    for (DType dtype : {DType::f32, DType::f64}) {
        INFO(dtype_name(dtype));
        // float32: k = 7 products summed, each step within 2^-24 relative: 8 * 6e-8 < 1e-6.
        const double tol = dtype == DType::f32 ? 1e-6 : 1e-15;
        const Tensor a = Tensor::randn(dtype, Shape{5, 7}, 1);
        const Tensor b = Tensor::randn(dtype, Shape{7, 3}, 2);
        const Tensor at = Tensor::randn(dtype, Shape{7, 5}, 3);
        const Tensor bt = Tensor::randn(dtype, Shape{3, 7}, 4);
        SECTION("plain") { check_matmul(run_op(dtype, {a, b}, [](auto v) { return matmul(v[0], v[1]); }), a, b, tol); }
        SECTION("transposed in the graph") {
            check_matmul(run_op(dtype, {at, bt}, [](auto v) { return matmul(transpose(v[0]), transpose(v[1])); }),
                         at.transpose(), bt.transpose(), tol);
            check_matmul(run_op(dtype, {a, bt}, [](auto v) { return matmul(v[0], transpose(v[1])); }), a,
                         bt.transpose(), tol);
        }
        SECTION("caller passes transposed and broadcast views") {
            Graph g;
            const Value x = g.input("x", dtype, Shape{5, 7});
            const Value w = g.input("w", dtype, Shape{7, 3});
            const Tensor xv = at.transpose();                                    // strides (1, 5)
            const Tensor wv = Tensor::randn(dtype, Shape{3}, 5).broadcast_to(Shape{7, 3});  // stride 0 rows
            REQUIRE_FALSE(xv.is_contiguous());
            const Tensor out = Interpreter({matmul(x, w)}).run({{"x", xv}, {"w", wv}})[0];
            check_matmul(out, xv, wv, tol);
        }
        SECTION("empty inner dimension gives zeros") {
            const Tensor e1 = Tensor::zeros(dtype, Shape{2, 0});
            const Tensor e2 = Tensor::zeros(dtype, Shape{0, 3});
            const Tensor out = run_op(dtype, {e1, e2}, [](auto v) { return matmul(v[0], v[1]); });
            CHECK(out.to_doubles() == std::vector<double>(6, 0.0));
        }
    }
}

TEST_CASE("forward: reductions", "[interp][forward]") {
    for (DType dtype : {DType::f32, DType::f64}) {
        INFO(dtype_name(dtype));
        // Small integers: every sum is exact in both dtypes.
        const Tensor x = Tensor::arange(DType::f64, 24).reshape(Shape{2, 3, 4});
        const auto r = [&](const Builder& f) { return run_op(dtype, {x}, f); };
        CHECK(r([](auto v) { return sum(v[0]); }).to_doubles() == std::vector<double>{276});
        const Tensor kd = r([](auto v) { return sum(v[0], true); });
        CHECK(kd.shape() == Shape{1, 1, 1});
        CHECK(kd.flat(0) == 276);
        // sum over axis 1 of arange(24).reshape(2,3,4): [[12,15,18,21],[48,51,54,57]]
        const Tensor s1 = r([](auto v) { return sum(v[0], 1); });
        CHECK(s1.shape() == Shape{2, 4});
        CHECK(s1.to_doubles() == std::vector<double>{12, 15, 18, 21, 48, 51, 54, 57});
        const Tensor s2 = r([](auto v) { return sum(v[0], -1, true); });
        CHECK(s2.shape() == Shape{2, 3, 1});
        CHECK(s2.to_doubles() == std::vector<double>{6, 22, 38, 54, 70, 86});
        const Tensor s02 = r([](auto v) { return sum(v[0], std::vector<std::int64_t>{0, 2}); });
        CHECK(s02.to_doubles() == std::vector<double>{6 + 54, 22 + 70, 38 + 86});
        CHECK(r([](auto v) { return mean(v[0]); }).to_doubles() == std::vector<double>{11.5});
        const Tensor m0 = r([](auto v) { return mean(v[0], 0, true); });
        CHECK(m0.shape() == Shape{1, 3, 4});
        std::vector<double> want;
        for (int i = 0; i < 12; ++i) want.push_back(i + 6.0);
        CHECK(m0.to_doubles() == want);
        CHECK(r([](auto v) { return max(v[0]); }).to_doubles() == std::vector<double>{23});
        CHECK(r([](auto v) { return min(v[0], true); }).shape() == Shape{1, 1, 1});
        const Tensor x1 = r([](auto v) { return max(v[0], 1); });
        CHECK(x1.shape() == Shape{2, 4});
        CHECK(x1.to_doubles() == std::vector<double>{8, 9, 10, 11, 20, 21, 22, 23});
        const Tensor n2 = r([](auto v) { return min(-v[0], std::vector<std::int64_t>{0, 2}, true); });
        CHECK(n2.shape() == Shape{1, 3, 1});
        CHECK(n2.to_doubles() == std::vector<double>{-15, -19, -23});
        // Reducing a transposed view.
        CHECK(run_op(dtype, {Tensor::arange(DType::f64, 6).reshape(Shape{2, 3})},
                     [](auto v) { return max(transpose(v[0]), 1); })
                  .to_doubles() == std::vector<double>{3, 4, 5});
        CHECK(run_op(dtype, {Tensor::arange(DType::f64, 6).reshape(Shape{2, 3})},
                     [](auto v) { return sum(transpose(v[0]), 1); })
                  .to_doubles() == std::vector<double>{3, 5, 7});
        // A long float32 sum is accumulated in double: 1e6 copies of 0.1f.
        const Tensor many = Tensor::full(DType::f64, Shape{1000000}, 0.1);
        const double got = run_op(dtype, {many}, [](auto v) { return sum(v[0]); }).flat(0);
        const double want_sum = 1e6 * round_to(dtype, 0.1);
        CHECK(std::abs(got - want_sum) <= 1e-7 * want_sum);  // one float32 rounding of the total
    }
}

TEST_CASE("forward: max and min do not depend on the order: NaN wins, +0 is above -0", "[interp][forward]") {
    const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
    for (DType dtype : {DType::f32, DType::f64}) {
        INFO(dtype_name(dtype));
        // Each row, then the same row reversed: the same result.
        const Tensor x = Tensor::from<double>(Shape{8, 3}, {-0.0, 0.0, -1,  1, 0.0, -0.0,  //
                                                            nan, 5, 1,      1, 5, nan,      //
                                                            -inf, -inf, -inf,  -inf, -inf, -inf,  //
                                                            2, inf, 3,      3, inf, 2});
        const Tensor hi = run_op(dtype, {x}, [](auto v) { return max(v[0], 1); });
        const Tensor lo = run_op(dtype, {x}, [](auto v) { return min(v[0], 1); });
        const auto h = hi.to_doubles(), l = lo.to_doubles();
        CHECK((h[0] == 0 && !std::signbit(h[0])));
        CHECK(h[1] == 1);
        CHECK((std::isnan(h[2]) && std::isnan(h[3])));
        CHECK((h[4] == -inf && h[5] == -inf && h[6] == inf && h[7] == inf));
        CHECK(l[0] == -1);
        CHECK((l[1] == 0 && std::signbit(l[1])));
        CHECK((std::isnan(l[2]) && std::isnan(l[3])));
        CHECK((l[4] == -inf && l[5] == -inf && l[6] == 2 && l[7] == 2));

        // Long rows (the interpreter splits them into lanes) and columns, against std::.
        const std::int64_t n = 1003;
        std::vector<double> rows(static_cast<std::size_t>(4 * n));
        for (std::int64_t i = 0; i < n; ++i) {
            rows[static_cast<std::size_t>(i)] = std::sin(0.37 * static_cast<double>(i)) * 5;  // plain values
            rows[static_cast<std::size_t>(n + i)] = i == 777 ? nan : static_cast<double>(i);   // one NaN
            rows[static_cast<std::size_t>(2 * n + i)] = i == 500 ? 0.0 : -0.0;                 // one +0
            rows[static_cast<std::size_t>(3 * n + i)] = i == 1001 ? -inf : -1.0 / static_cast<double>(i + 1);
        }
        const Tensor long_rows = Tensor::from<double>(Shape{4, n}, rows);
        const auto rh = run_op(dtype, {long_rows}, [](auto v) { return max(v[0], 1); }).to_doubles();
        const auto rl = run_op(dtype, {long_rows}, [](auto v) { return min(v[0], 1); }).to_doubles();
        const auto row0 = std::span(rows).first(static_cast<std::size_t>(n));
        CHECK(rh[0] == round_to(dtype, *std::max_element(row0.begin(), row0.end())));
        CHECK(rl[0] == round_to(dtype, *std::min_element(row0.begin(), row0.end())));
        CHECK((std::isnan(rh[1]) && std::isnan(rl[1])));
        CHECK((rh[2] == 0 && !std::signbit(rh[2]) && rl[2] == 0 && std::signbit(rl[2])));
        CHECK((rh[3] == round_to(dtype, -1.0 / n) && rl[3] == -inf));
        // The same as columns: one running extremum per column.
        const auto ch = run_op(dtype, {long_rows}, [](auto v) { return max(transpose(v[0]), 0); }).to_doubles();
        const auto cl = run_op(dtype, {long_rows}, [](auto v) { return min(transpose(v[0]), 0); }).to_doubles();
        const auto same = [](const std::vector<double>& a, const std::vector<double>& b) {
            return bitwise_equal(Tensor::from<double>(Shape{4}, a), Tensor::from<double>(Shape{4}, b));
        };
        CHECK(same(ch, rh));
        CHECK(same(cl, rl));
    }
}

TEST_CASE("forward: layout ops", "[interp][forward]") {
    for (DType dtype : {DType::f32, DType::f64}) {
        INFO(dtype_name(dtype));
        const Tensor x = Tensor::arange(DType::f64, 6).reshape(Shape{2, 3});
        const Tensor t = run_op(dtype, {x}, [](auto v) { return transpose(v[0]); });
        CHECK(t.shape() == Shape{3, 2});
        CHECK(t.to_doubles() == std::vector<double>{0, 3, 1, 4, 2, 5});
        const Tensor r = run_op(dtype, {x}, [](auto v) { return reshape(v[0], Shape{3, 2}); });
        CHECK(r.to_doubles() == std::vector<double>{0, 1, 2, 3, 4, 5});
        const Tensor rt = run_op(dtype, {x}, [](auto v) { return reshape(transpose(v[0]), Shape{6}); });
        CHECK(rt.to_doubles() == std::vector<double>{0, 3, 1, 4, 2, 5});
        const Tensor b = run_op(dtype, {vec({1, 2, 3})}, [](auto v) { return broadcast_to(v[0], Shape{2, 3}); });
        CHECK(b.to_doubles() == std::vector<double>{1, 2, 3, 1, 2, 3});
        const Tensor p = run_op(dtype, {Tensor::arange(DType::f64, 24).reshape(Shape{2, 3, 4})},
                                [](auto v) { return transpose(v[0], {2, 0, 1}); });
        CHECK(p.shape() == Shape{4, 2, 3});
        CHECK(p.at({3, 1, 2}) == 1 * 12 + 2 * 4 + 3);
    }
    const Tensor c = run_op(DType::f64, {vec({0.1, 1e40})}, [](auto v) { return cast(cast(v[0], DType::f32), DType::f64); });
    CHECK(c.flat(0) == static_cast<double>(0.1f));
    CHECK(c.flat(1) == kInf);  // 1e40 overflows float32
}

namespace {

// softmax / log_softmax of `x` (flat, C order, `shape`) along `axis`, in double.
std::vector<double> ref_normalize(const std::vector<double>& x, const Shape& shape, int axis, bool log_form) {
    std::int64_t outer = 1, inner = 1;
    for (int i = 0; i < axis; ++i) outer *= shape[i];
    for (int i = axis + 1; i < shape.rank(); ++i) inner *= shape[i];
    const std::int64_t len = shape[axis];
    std::vector<double> y(x.size());
    for (std::int64_t o = 0; o < outer; ++o)
        for (std::int64_t j = 0; j < inner; ++j) {
            const auto at = [&](std::int64_t a) { return static_cast<std::size_t>((o * len + a) * inner + j); };
            double hi = -kInf, total = 0;
            for (std::int64_t a = 0; a < len; ++a) hi = std::max(hi, x[at(a)]);
            for (std::int64_t a = 0; a < len; ++a) total += std::exp(x[at(a)] - hi);
            for (std::int64_t a = 0; a < len; ++a)
                y[at(a)] = log_form ? x[at(a)] - hi - std::log(total) : std::exp(x[at(a)] - hi) / total;
        }
    return y;
}

}  // namespace

TEST_CASE("forward: softmax and log_softmax over long rows and leading axes, against float64", "[interp][forward]") {
    // Rows longer than the kernel's 16 running lanes, with a tail, and slices along leading axes
    // (side by side in memory). Error bound, in units of eps (2^-24 or 2^-53): the shift x - max
    // rounds, which costs exp(x - max) up to |x - max| eps relative; the sum of n positive terms
    // in 16 partial sums up to (n/16 + 16) eps; exp, log and the division 4 more. softmax is
    // checked relative to each value, log_softmax absolutely (its error is the sum's, in log).
    const Shape shape{3, 5, 1037};
    const Tensor x = Tensor::randn(DType::f64, shape, 11).to(DType::f64);
    for (DType dtype : {DType::f32, DType::f64}) {
        const auto xs = rounded(x, dtype);
        const double eps = dtype == DType::f32 ? 0x1p-24 : 0x1p-53;
        const double spread = *std::max_element(xs.begin(), xs.end()) - *std::min_element(xs.begin(), xs.end());
        for (int axis : {2, 1, 0}) {
            for (bool log_form : {false, true}) {
                INFO(fmt::format("{} axis {} {}", dtype_name(dtype), axis, log_form ? "log_softmax" : "softmax"));
                const Tensor got = run_op(dtype, {x}, [&](auto v) {
                    return log_form ? log_softmax(v[0], axis) : softmax(v[0], axis);
                });
                const auto want = ref_normalize(xs, shape, axis, log_form);
                const double bound = (static_cast<double>(shape[axis]) / 16 + 20 + spread) * eps;
                const auto g = got.to_doubles();
                for (std::size_t i = 0; i < g.size(); ++i) {
                    INFO(fmt::format("element {}: got {:.17g}, want {:.17g}", i, g[i], want[i]));
                    const double err = std::abs(g[i] - want[i]);
                    CHECK(err <= (log_form ? bound + eps * std::abs(want[i]) : bound * want[i]));
                }
            }
        }
    }
}

TEST_CASE("forward: NaN and infinities along a softmax slice", "[interp][forward][edge]") {
    // 4 slices of 40: a NaN at 23 (the whole slice NaN), +inf at 30 (NaN there, 0 / -inf
    // elsewhere), -inf at 7 (0 / -inf there, the rest as without it), and all -inf (NaN: 0/0).
    // As rows (contiguous) and as columns (the same slices along axis 0).
    std::vector<double> rows(160);
    for (std::size_t i = 0; i < rows.size(); ++i) rows[i] = std::sin(static_cast<double>(i)) * 3;
    rows[23] = kNaN;
    rows[40 + 30] = kInf;
    rows[80 + 7] = -kInf;
    std::fill(rows.begin() + 120, rows.end(), -kInf);
    std::vector<double> cols(160);
    for (std::size_t r = 0; r < 4; ++r)
        for (std::size_t k = 0; k < 40; ++k) cols[k * 4 + r] = rows[r * 40 + k];
    for (DType dtype : {DType::f32, DType::f64}) {
        for (bool log_form : {false, true}) {
            for (bool as_columns : {false, true}) {
                INFO(fmt::format("{} {} {}", dtype_name(dtype), log_form ? "log_softmax" : "softmax",
                                 as_columns ? "columns" : "rows"));
                const Tensor in = as_columns ? Tensor::from<double>(Shape{40, 4}, cols)
                                             : Tensor::from<double>(Shape{4, 40}, rows);
                const int axis = as_columns ? 0 : 1;
                const auto g = run_op(dtype, {in}, [&](auto v) {
                    return log_form ? log_softmax(v[0], axis) : softmax(v[0], axis);
                }).to_doubles();
                const auto y = [&](std::size_t r, std::size_t k) { return g[as_columns ? k * 4 + r : r * 40 + k]; };
                const double empty = log_form ? -kInf : 0.0;  // the value of a zero weight
                double total = 0;
                for (std::size_t k = 0; k < 40; ++k) {
                    CHECK(std::isnan(y(0, k)));
                    if (k == 30) CHECK(std::isnan(y(1, k)));
                    else CHECK(y(1, k) == empty);
                    if (k == 7) CHECK(y(2, k) == empty);
                    else CHECK(std::isfinite(y(2, k)));
                    total += log_form ? std::exp(y(2, k)) : y(2, k);
                    CHECK(std::isnan(y(3, k)));
                }
                CHECK(std::abs(total - 1) < 1e-5);
            }
        }
    }
}

TEST_CASE("forward: softmax, log_softmax and the losses", "[interp][forward]") {
    const Tensor logits = Tensor::from<double>(Shape{2, 3}, {1.0, 2.0, 0.5, -1.0, 3.0, 0.0});
    const Tensor target = Tensor::from<double>(Shape{2, 3}, {0.0, 1.0, 0.0, 0.2, 0.3, 0.5});
    for (DType dtype : {DType::f32, DType::f64}) {
        INFO(dtype_name(dtype));
        const double tol = transcendental_tol(dtype);
        const auto x = rounded(logits, dtype);
        const auto t = rounded(target, dtype);
        std::vector<double> sm(6), lsm(6), sm0(6);
        for (int i = 0; i < 2; ++i) {
            double z = 0;
            for (int j = 0; j < 3; ++j) z += std::exp(x[static_cast<std::size_t>(3 * i + j)]);
            for (int j = 0; j < 3; ++j) {
                const auto k = static_cast<std::size_t>(3 * i + j);
                sm[k] = std::exp(x[k]) / z;
                lsm[k] = x[k] - std::log(z);
            }
        }
        for (int j = 0; j < 3; ++j) {
            const double z = std::exp(x[static_cast<std::size_t>(j)]) + std::exp(x[static_cast<std::size_t>(3 + j)]);
            sm0[static_cast<std::size_t>(j)] = std::exp(x[static_cast<std::size_t>(j)]) / z;
            sm0[static_cast<std::size_t>(3 + j)] = std::exp(x[static_cast<std::size_t>(3 + j)]) / z;
        }
        check_close(run_op(dtype, {logits}, [](auto v) { return softmax(v[0]); }), sm, tol);
        check_close(run_op(dtype, {logits}, [](auto v) { return log_softmax(v[0], 1); }), lsm, tol);
        check_close(run_op(dtype, {logits}, [](auto v) { return softmax(v[0], 0); }), sm0, tol);
        double ce = 0, se = 0;
        for (std::size_t k = 0; k < 6; ++k) {
            ce -= t[k] * lsm[k];
            se += (x[k] - t[k]) * (x[k] - t[k]);
        }
        check_close(run_op(dtype, {logits, target}, [](auto v) { return cross_entropy(v[0], v[1]); }), {ce / 2}, tol);
        check_close(run_op(dtype, {logits, target}, [](auto v) { return mse(v[0], v[1]); }), {se / 6}, tol);
    }
}
