// The REPL's statement evaluator (nnjit::Session) in process: values of the functions against
// formulas evaluated here in double, gradients against central finite differences in float64,
// the PyTorch kink conventions, promotion, seeds, the inspection commands, and bad input.
// Everything runs on the interpreter; the [jit] cases compare the JIT with it when it is built.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>

#include "nnjit/session.hpp"

using namespace nnjit;

namespace {

SessionOptions interp_options() {
    SessionOptions o;
    o.backend = Backend::interp;
    o.time_min_runs = 2;
    o.time_budget_s = 0.01;
    return o;
}

struct Repl {
    Session session{interp_options()};

    Outcome run(const std::string& line) { return session.execute(line, "t.nnj", 7); }
    void ok(const std::string& line) {
        const Outcome r = run(line);
        INFO(line << " -> " << r.error);
        REQUIRE(r.ok);
    }
    Tensor eval(const std::string& expr) {
        ok("_r = " + expr);
        return session.variables().at("_r");
    }
    std::string error(const std::string& line) {
        const Outcome r = run(line);
        INFO(line);
        REQUIRE_FALSE(r.ok);
        return r.error;
    }
    void bind(const std::string& name, DType dtype, Shape shape, std::vector<double> values) {
        Tensor t = Tensor::from<double>(std::move(shape), std::span<const double>(values));
        session.bind(name, t.to(dtype));
    }
};

// |got - want| <= rtol * |want| + atol, element by element, with the shapes equal.
void check_close(const Tensor& got, const std::vector<double>& want, double rtol, double atol) {
    REQUIRE(got.numel() == static_cast<std::int64_t>(want.size()));
    const auto v = got.to_doubles();
    for (std::size_t i = 0; i < want.size(); ++i) {
        INFO("element " << i << ": got " << v[i] << ", want " << want[i]);
        CHECK(std::abs(v[i] - want[i]) <= rtol * std::abs(want[i]) + atol);
    }
}

std::vector<double> map(const std::vector<double>& x, const std::function<double(double)>& f) {
    std::vector<double> out;
    for (double v : x) out.push_back(f(v));
    return out;
}

const std::vector<double> kPoints = {-2.3, -1.1, -0.4, 0.3, 0.9, 1.7, 2.6};  // no kinks, no ties

// float32: a few roundings of a float32 function (vmath documents <= 1e-6 relative).
constexpr double kF32 = 2e-6;

// Central finite difference of sum(EXPR) with respect to the float64 variable `name`.
std::vector<double> fd_grad(Repl& r, const std::string& expr, const std::string& name) {
    const Tensor x0 = r.session.variables().at(name);
    std::vector<double> base = x0.to_doubles(), g;
    const double h = 1e-6;
    for (std::size_t i = 0; i < base.size(); ++i) {
        std::vector<double> plus = base, minus = base;
        plus[i] += h;
        minus[i] -= h;
        r.bind(name, DType::f64, x0.shape(), plus);
        const double fp = r.eval("sum(" + expr + ")").flat(0);
        r.bind(name, DType::f64, x0.shape(), minus);
        const double fm = r.eval("sum(" + expr + ")").flat(0);
        g.push_back((fp - fm) / (2 * h));
    }
    r.session.bind(name, x0);
    return g;
}

// Whether some line of `text` contains all of `parts`, and one of `any_of`. Plain string
// search: a Catch::Matches("[\\s\\S]*...") over a whole listing recursed once per character in
// libstdc++'s regex and overflowed the stack under AddressSanitizer.
bool has_line_with(const std::string& text, const std::vector<std::string>& parts,
                   const std::vector<std::string>& any_of) {
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
        auto has = [&](const std::string& p) { return line.find(p) != std::string::npos; };
        if (std::all_of(parts.begin(), parts.end(), has) && std::any_of(any_of.begin(), any_of.end(), has))
            return true;
    }
    return false;
}

bool jit_available() {
    Session s;  // default backend: the JIT
    const Outcome r = s.execute("1 + 1", "probe", 1);
    if (!r.ok && r.error.find("not built yet") != std::string::npos) return false;
    return true;
}

}  // namespace

TEST_CASE("repl: elementwise functions match their formulas", "[repl]") {
    Repl r;
    r.bind("x", DType::f32, Shape{7}, kPoints);
    const auto sig = [](double v) { return 1 / (1 + std::exp(-v)); };
    struct Case {
        std::string expr;
        std::function<double(double)> f;
    };
    const std::vector<Case> cases = {
        {"relu(x)", [](double v) { return v > 0 ? v : 0; }},
        {"leaky_relu(x)", [](double v) { return v > 0 ? v : 0.01 * v; }},
        {"leaky_relu(x, alpha=0.2)", [](double v) { return v > 0 ? v : 0.2 * v; }},
        {"leaky_relu(x, 0.2)", [](double v) { return v > 0 ? v : 0.2 * v; }},
        {"prelu(x, 0.25)", [](double v) { return v > 0 ? v : 0.25 * v; }},
        {"sigmoid(x)", sig},
        {"tanh(x)", [](double v) { return std::tanh(v); }},
        {"elu(x)", [](double v) { return v > 0 ? v : std::expm1(v); }},
        {"elu(x, alpha=0.5)", [](double v) { return v > 0 ? v : 0.5 * std::expm1(v); }},
        {"silu(x)", [&](double v) { return v * sig(v); }},
        {"gelu(x)", [](double v) { return 0.5 * v * (1 + std::erf(v / std::sqrt(2.0))); }},
        {"softplus(x)", [](double v) { return std::log1p(std::exp(v)); }},
        {"expm1(x)", [](double v) { return std::expm1(v); }},
        {"log1p(abs(x))", [](double v) { return std::log1p(std::abs(v)); }},
        {"exp(x)", [](double v) { return std::exp(v); }},
        {"log(abs(x))", [](double v) { return std::log(std::abs(v)); }},
        {"sqrt(abs(x))", [](double v) { return std::sqrt(std::abs(v)); }},
        {"abs(x)", [](double v) { return std::abs(v); }},
        {"maximum(x, 0.5)", [](double v) { return std::max(v, 0.5); }},
        {"minimum(x, 0.5)", [](double v) { return std::min(v, 0.5); }},
        {"erfc(x)", [](double v) { return std::erfc(v); }},
        {"greater(x, 0.5)", [](double v) { return v > 0.5 ? 1.0 : 0.0; }},
        {"equal(x, 0.3)", [](double v) { return v == static_cast<double>(0.3f) ? 1.0 : 0.0; }},
        {"where(greater(x, 0), x, 0.1 * x)", [](double v) { return v > 0 ? v : 0.1 * v; }},
        {"where(x, 2, 3)", [](double v) { return v != 0 ? 2.0 : 3.0; }},
        {"-x * 2 + 1 / (x - 3)", [](double v) { return -v * 2 + 1 / (v - 3); }},
    };
    // The inputs are float32 values, so the reference starts from the rounded points.
    const std::vector<double> x = r.session.variables().at("x").to_doubles();
    for (const Case& c : cases) {
        INFO(c.expr);
        const Tensor y = r.eval(c.expr);
        CHECK(y.dtype() == DType::f32);
        CHECK(y.shape() == Shape{7});
        check_close(y, map(x, c.f), kF32, 1e-7);
    }
}

TEST_CASE("repl: reductions, softmax, matmul, losses", "[repl]") {
    Repl r;
    r.ok("x = [[1, -2, 3], [0.5, 4, -1]]");
    r.ok("t = [[0, 1, 0], [1, 0, 0]]");
    check_close(r.eval("sum(x)"), {5.5}, 0, 0);
    check_close(r.eval("sum(x, axis=0)"), {1.5, 2, 2}, 0, 0);
    check_close(r.eval("sum(x, 1)"), {2, 3.5}, 0, 0);
    check_close(r.eval("mean(x)"), {5.5 / 6}, kF32, 0);
    check_close(r.eval("mean(x, axis=-1)"), {2.0 / 3, 3.5 / 3}, kF32, 0);
    check_close(r.eval("max(x)"), {4}, 0, 0);
    check_close(r.eval("max(x, axis=0)"), {1, 4, 3}, 0, 0);
    check_close(r.eval("min(x, 1)"), {-2, -1}, 0, 0);
    check_close(r.eval("grad(max(x, 1), x)"), {0, 0, 1, 0, 1, 0}, 0, 0);
    const Tensor xt = r.eval("transpose(x)");
    CHECK(xt.shape() == Shape{3, 2});
    check_close(xt, {1, 0.5, -2, 4, 3, -1}, 0, 0);
    // x @ x^T by hand: rows (1,-2,3) and (0.5,4,-1).
    check_close(r.eval("x @ transpose(x)"), {14, -10.5, -10.5, 17.25}, 0, 0);
    check_close(r.eval("mse(x, t)"), {(1 + 9 + 9 + 0.25 + 16 + 1) / 6.0}, kF32, 0);

    const std::vector<double> row0 = {1, -2, 3}, row1 = {0.5, 4, -1};
    auto softmax = [](std::vector<double> v) {
        double s = 0;
        for (double e : v) s += std::exp(e);
        for (double& e : v) e = std::exp(e) / s;
        return v;
    };
    auto s0 = softmax(row0), s1 = softmax(row1);
    std::vector<double> sm = s0;
    sm.insert(sm.end(), s1.begin(), s1.end());
    check_close(r.eval("softmax(x)"), sm, kF32, 1e-7);
    check_close(r.eval("softmax(x, axis=-1)"), sm, kF32, 1e-7);
    check_close(r.eval("log_softmax(x)"), map(sm, [](double v) { return std::log(v); }), kF32, 1e-6);
    // Over axis 0: each column of two entries.
    const Tensor s_cols = r.eval("softmax(x, axis=0)");
    check_close(s_cols, {1 / (1 + std::exp(-0.5)), 1 / (1 + std::exp(6.0)), 1 / (1 + std::exp(-4.0)),
                         1 / (1 + std::exp(0.5)), 1 / (1 + std::exp(-6.0)), 1 / (1 + std::exp(4.0))},
                kF32, 1e-7);
    // cross_entropy = mean over rows of -sum(t * log_softmax(x)) = -(log s0[1] + log s1[0]) / 2.
    check_close(r.eval("cross_entropy(x, t)"), {-(std::log(s0[1]) + std::log(s1[0])) / 2}, kF32, 0);
}

TEST_CASE("repl: keepdims, reshape with -1, transpose with axes", "[repl]") {
    Repl r;
    r.ok("x = [[1, -2, 3], [0.5, 4, -1]]");
    const Tensor col_sums = r.eval("sum(x, axis=0, keepdims=1)");
    CHECK(col_sums.shape() == Shape{1, 3});
    check_close(col_sums, {1.5, 2, 2}, 0, 0);
    const Tensor row_max = r.eval("max(x, 1, 1)");
    CHECK(row_max.shape() == Shape{2, 1});
    check_close(row_max, {3, 4}, 0, 0);
    CHECK(r.eval("min(x, keepdims=1)").shape() == Shape{1, 1});
    CHECK(r.eval("mean(x, axis=1, keepdims=0)").shape() == Shape{2});
    // keepdims makes the reduction broadcast back: each row minus its mean sums to 0.
    check_close(r.eval("sum(x - mean(x, axis=1, keepdims=1), axis=1)"), {0, 0}, 0, 1e-6);

    const Tensor r32 = r.eval("reshape(x, 3, 2)");
    CHECK(r32.shape() == Shape{3, 2});
    check_close(r32, {1, -2, 3, 0.5, 4, -1}, 0, 0);
    CHECK(r.eval("reshape(x, -1)").shape() == Shape{6});
    CHECK(r.eval("reshape(x, 3, -1)").shape() == Shape{3, 2});
    CHECK(r.eval("reshape(x, 1, -1, 3)").shape() == Shape{1, 2, 3});
    CHECK(r.eval("reshape(zeros(0, 3), 5, -1)").shape() == Shape{5, 0});
    // The gradient through a reshape is reshaped back.
    const Tensor g = r.eval("grad(sum(reshape(x, 6) * arange(6)), x)");
    CHECK(g.shape() == Shape{2, 3});
    check_close(g, {0, 1, 2, 3, 4, 5}, 0, 0);

    r.ok("y = reshape(arange(24), 2, 3, 4)");
    const Tensor yt = r.eval("transpose(y, 1, 0, 2)");
    CHECK(yt.shape() == Shape{3, 2, 4});
    // yt[i, j, k] = y[j, i, k] = 12 j + 4 i + k.
    for (std::int64_t i = 0; i < 3; ++i)
        for (std::int64_t j = 0; j < 2; ++j)
            for (std::int64_t k = 0; k < 4; ++k) CHECK(yt.flat((i * 2 + j) * 4 + k) == 12 * j + 4 * i + k);
    CHECK(r.eval("transpose(y)").shape() == Shape{4, 3, 2});
    check_close(r.eval("transpose(x, 0, 1)"), {1, -2, 3, 0.5, 4, -1}, 0, 0);

    CHECK(r.error("reshape(x, 4, -1)") == "t.nnj:7:1: reshape: no size for the -1 in (4, -1) holds 6 elements");
    CHECK(r.error("reshape(x, -1, -1)") == "t.nnj:7:16: reshape: only one dimension can be -1");
    CHECK(r.error("reshape(x, 7)") == "t.nnj:7:1: reshape: cannot reshape (2, 3) (6 elements) to (7,) (7 elements)");
    CHECK(r.error("reshape(x, -2, 3)") == "t.nnj:7:12: reshape: a dimension must be an integer from -1 to 268435456, got -2");
    CHECK(r.error("sum(x, keepdims=2)") == "t.nnj:7:17: sum: keepdims must be an integer from 0 to 1, got 2");
    CHECK(r.error("transpose(x, 1, 1)") == "t.nnj:7:1: transpose: (1, 1) is not a permutation of the axes of shape (2, 3)");
    CHECK(r.error("transpose(x, 1)") == "t.nnj:7:1: transpose: permutation (1) does not fit shape (2, 3)");
}

TEST_CASE("repl: comparisons give 1 where true and 0 where not, NaN compared as IEEE says", "[repl]") {
    Repl r;
    r.ok("x = [-1, 0, 2, 0]");
    r.ok("y = [0, 0, 1, 0 / 0]");  // the last is NaN
    const std::vector<std::pair<std::string, std::vector<double>>> cases = {
        {"x < y", {1, 0, 0, 0}},  {"x > y", {0, 0, 1, 0}},  {"x <= y", {1, 1, 0, 0}},
        {"x >= y", {0, 1, 1, 0}}, {"x == y", {0, 1, 0, 0}}, {"x != y", {1, 0, 1, 1}},
        {"x > 0", {0, 0, 1, 0}},  {"0 >= x", {1, 1, 0, 1}}, {"x + 1 > x * 2", {1, 1, 0, 1}},
        {"2 < 3", {1}},           {"2 != 2", {0}},           {"0 / 0 == 0 / 0", {0}},
    };
    for (const auto& [expr, want] : cases) {
        INFO(expr);
        check_close(r.eval(expr), want, 0, 0);
    }
    CHECK(r.eval("float64(x) > 0").dtype() == DType::f64);
    CHECK(r.eval("x < [[0], [1]]").shape() == Shape{2, 4});  // broadcast as the arithmetic does
    // A comparison has no gradient of its own; through where() the chosen branch's flows.
    check_close(r.eval("grad(x * (x > 0), x)"), {0, 0, 1, 0}, 0, 0);
    check_close(r.eval("grad(where(x >= 0, x * x, -x), x)"), {-1, 0, 4, 0}, 0, 0);
    CHECK(r.error("x < [1, 2]") == "t.nnj:7:3: <: shapes (4,) and (2,) cannot be broadcast together");
    // clamp, written with them: x between the bounds, ends included, and its gradient 1 there.
    check_close(r.eval("clamp(x, -0.5, 1)"), {-0.5, 0, 1, 0}, 0, 0);
    check_close(r.eval("grad(clamp(x, 0, 2), x)"), {0, 1, 1, 1}, 0, 0);
    CHECK(r.error("clamp(x, 1, 0)") == "t.nnj:7:1: clamp: the bounds must have lo <= hi, got lo = 1, hi = 0");
    CHECK(r.error("[1, 2] >= x") == "t.nnj:7:8: >=: shapes (2,) and (4,) cannot be broadcast together");
    CHECK_THAT(r.error("x < y < 1"),
               Catch::Matchers::StartsWith("t.nnj:7:7: comparisons do not chain: write (a < b) * (b < c) for both"));
}

TEST_CASE("repl: gradients match finite differences (float64)", "[repl][autodiff]") {
    Repl r;
    r.bind("x", DType::f64, Shape{7}, kPoints);
    r.bind("m", DType::f64, Shape{2, 3}, {0.3, -1.2, 0.8, 1.5, -0.7, 0.1});
    r.bind("w", DType::f64, Shape{3, 2}, {0.5, -0.25, 1.5, 0.75, -1, 2});
    r.bind("t", DType::f64, Shape{2, 3}, {0, 0, 1, 0.25, 0.75, 0});
    r.bind("b", DType::f64, Shape{3}, {0.1, -0.2, 0.3});
    r.bind("a", DType::f64, Shape{3}, {0.1, 0.2, 0.3});
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"relu(x)", "x"}, {"leaky_relu(x, alpha=0.2)", "x"}, {"sigmoid(x)", "x"}, {"tanh(x)", "x"},
        {"elu(x, alpha=0.7)", "x"}, {"silu(x)", "x"}, {"gelu(x)", "x"}, {"softplus(x)", "x"}, {"expm1(x)", "x"}, {"log1p(x * x)", "x"},
        {"exp(x)", "x"}, {"log(x * x)", "x"}, {"sqrt(x * x + 1)", "x"}, {"abs(x)", "x"},
        {"maximum(x, 0.5 - x)", "x"}, {"minimum(x, 0.5 - x)", "x"}, {"x / (x * x + 2)", "x"},
        {"erfc(x)", "x"}, {"where(greater(x, 0.2), x * x, 3 * x)", "x"},
        {"prelu(m, a)", "m"}, {"prelu(m, a)", "a"},
        {"sum(m, axis=0) * b", "m"}, {"mean(m, axis=1) * [2, 3]", "m"}, {"mean(m * m)", "m"},
        {"softmax(m) * t", "m"}, {"softmax(m, axis=0) * t", "m"}, {"log_softmax(m) * t", "m"},
        {"transpose(m) * w", "m"},
        {"relu(m @ w) * [[1, 2], [3, 4]]", "w"}, {"sigmoid(m @ w) @ [[1], [-1]]", "m"},
        {"mse(m * 2, t)", "m"}, {"cross_entropy(m @ w @ transpose(w), t)", "w"},
        {"tanh(m + b)", "b"},  // b is broadcast over rows: its gradient sums them
        {"grad(x * x * x, x)", "x"},  // a gradient of a gradient: 6x
    };
    for (const auto& [expr, name] : cases) {
        INFO("grad(" << expr << ", " << name << ")");
        const Tensor g = r.eval("grad(" + expr + ", " + name + ")");
        const Tensor var = r.session.variables().at(name);
        CHECK(g.shape() == var.shape());
        CHECK(g.dtype() == DType::f64);
        check_close(g, fd_grad(r, expr, name), 1e-6, 1e-7);
    }
}

TEST_CASE("repl: derivatives at kinks follow PyTorch", "[repl][autodiff]") {
    Repl r;
    r.ok("x = [-1, 0, 2]");
    r.ok("a = [0.25, 0.25, 0.25]");
    check_close(r.eval("grad(relu(x), x)"), {0, 0, 1}, 0, 0);
    check_close(r.eval("grad(leaky_relu(x, alpha=0.125), x)"), {0.125, 0.125, 1}, 0, 0);
    check_close(r.eval("grad(prelu(x, a), x)"), {0.25, 0.25, 1}, 0, 0);
    check_close(r.eval("grad(abs(x), x)"), {-1, 0, 1}, 0, 0);
    // Ties split evenly: maximum(x, 0) ties at x = 0.
    check_close(r.eval("grad(maximum(x, [0, 0, 0]), x)"), {0, 0.5, 1}, 0, 0);
    check_close(r.eval("grad(minimum(x, [0, 0, 0]), x)"), {1, 0.5, 0}, 0, 0);
    r.ok("z = [0, 0, 0]");
    check_close(r.eval("grad(maximum(x, z), z)"), {1, 0.5, 0}, 0, 0);
    // prelu's slope gets x where x <= 0.
    check_close(r.eval("grad(prelu(x, a), a)"), {-1, 0, 0}, 0, 0);
    // A variable the expression does not use gets zeros.
    check_close(r.eval("grad(relu(a), x)"), {0, 0, 0}, 0, 0);
}

TEST_CASE("repl: float32 with float64 promotes, and numbers take the tensor's dtype", "[repl]") {
    Repl r;
    r.ok("x = [1, 2]");
    r.bind("d", DType::f64, Shape{2}, {0.5, 0.25});
    CHECK(r.eval("x").dtype() == DType::f32);
    CHECK(r.eval("x * 0.1").dtype() == DType::f32);
    CHECK(r.eval("2 * 3").dtype() == DType::f32);
    const Tensor y = r.eval("x + d");
    CHECK(y.dtype() == DType::f64);
    check_close(y, {1.5, 2.25}, 0, 0);
    CHECK(r.eval("maximum(x, d)").dtype() == DType::f64);
    CHECK(r.eval("where(1, 0.5, d)").dtype() == DType::f64);  // the numbers meet d
    check_close(r.eval("where(x, 0.5, d)"), {0.5, 0.5}, 0, 0);
    CHECK(r.eval("float64(x) * 0.1").dtype() == DType::f64);
    CHECK(r.eval("grad(x * d, x)").dtype() == DType::f32);  // a gradient has its variable's dtype
    // Numbers fold in double: 0.1 + 0.2 rounds to float32 once, at the end.
    check_close(r.eval("0.1 + 0.2"), {static_cast<double>(static_cast<float>(0.1 + 0.2))}, 0, 0);
}

TEST_CASE("repl: constructors, and seeds that make randn/rand reproducible", "[repl]") {
    Repl r;
    const Tensor z = r.eval("zeros(2, 3)");
    CHECK(z.shape() == Shape{2, 3});
    check_close(z, std::vector<double>(6, 0.0), 0, 0);
    check_close(r.eval("ones(2)"), {1, 1}, 0, 0);
    const Tensor f = r.eval("full(2.5, 2, 2)");
    CHECK(f.shape() == Shape{2, 2});
    check_close(f, {2.5, 2.5, 2.5, 2.5}, 0, 0);
    CHECK(r.eval("zeros()").shape() == Shape{});
    check_close(r.eval("arange(4)"), {0, 1, 2, 3}, 0, 0);
    check_close(r.eval("linspace(-1, 1, 5)"), {-1, -0.5, 0, 0.5, 1}, 0, 0);
    check_close(r.eval("[[1, 2], [3, 4]]"), {1, 2, 3, 4}, 0, 0);
    CHECK(r.eval("[[], []]").shape() == Shape{2, 0});

    r.ok(":seed 7");
    const Tensor a = r.eval("randn(4000)");
    const Tensor a2 = r.eval("randn(4000)");
    r.ok(":seed 7");
    const Tensor b = r.eval("randn(4000)");
    CHECK(bitwise_equal(a, b));       // the same seed replays the same draws
    CHECK_FALSE(bitwise_equal(a, a2));  // each call draws afresh
    r.ok(":seed 8");
    CHECK_FALSE(bitwise_equal(a, r.eval("randn(4000)")));
    // Standard normal: the mean of 4000 draws is within 4.7 standard errors (0.075) of 0.
    const auto v = a.to_doubles();
    double mean = 0, sq = 0;
    for (double e : v) mean += e / 4000.0;
    for (double e : v) sq += (e - mean) * (e - mean) / 4000.0;
    CHECK(std::abs(mean) < 0.075);
    CHECK(std::abs(std::sqrt(sq) - 1) < 0.05);
    const auto u = r.eval("rand(3, 1000)").to_doubles();
    double umean = 0;
    for (double e : u) {
        CHECK((e >= 0 && e < 1));
        umean += e / 3000.0;
    }
    CHECK(std::abs(umean - 0.5) < 0.03);  // sd of the mean is 0.0053
}

TEST_CASE("repl: statements, :vars and :help", "[repl]") {
    Repl r;
    CHECK(r.run("# nothing").ok);
    CHECK(r.run("").output.empty());
    CHECK(r.run(":vars").output == "(no variables)\n");
    r.ok("w = ones(3, 2)");
    r.ok("b = [1, 2]");
    CHECK(r.run(":vars").output == "b: float32 (2,)\nw: float32 (3, 2)\n");
    CHECK(r.run("b").output == "tensor([1, 2], dtype=float32, shape=(2,))\n");
    CHECK(r.run("b = b * 2").output.empty());
    CHECK(r.run("b").output == "tensor([2, 4], dtype=float32, shape=(2,))\n");
    CHECK_THAT(r.run(":help").output, Catch::Contains(":load NAME PATH") && Catch::Contains("cross_entropy"));
    const Outcome q = r.run(":quit");
    CHECK(q.ok);
    CHECK(q.quit);
    r.ok(":backend jit");
    CHECK(r.session.backend() == Backend::jit);
    r.ok(":backend interp");
    CHECK(r.session.backend() == Backend::interp);
}

TEST_CASE("repl: :ir, :dot and :time", "[repl]") {
    Repl r;
    r.ok("x = [-1, 2]");
    r.ok("w = [3, 4]");
    const Outcome ir = r.run(":ir sigmoid(x) * w");
    REQUIRE(ir.ok);
    CHECK_THAT(ir.output, Catch::StartsWith("graph:\n%0 = input \"x\" : float32 (2,)\n"));
    CHECK_THAT(ir.output, Catch::Contains("  out0: value\n  out1: grad x\n  out2: grad w\n"));
    CHECK_THAT(ir.output, Catch::Contains("-> out2"));
    CHECK_THAT(ir.output, Catch::Contains("kernels:"));

    const auto path = std::filesystem::temp_directory_path() / "nnjit_test_repl.dot";
    std::filesystem::remove(path);
    const Outcome dot = r.run(":dot relu(x) * w " + path.string());
    REQUIRE(dot.ok);
    std::ifstream in(path);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    CHECK_THAT(text, Catch::StartsWith("digraph nnjit {"));
    CHECK_THAT(text, Catch::Contains("subgraph cluster_0"));
    CHECK_THAT(text, Catch::Contains("label=\"grad w\""));
    CHECK_THAT(text, Catch::EndsWith("}\n"));
    std::filesystem::remove(path);
    CHECK_THAT(r.error(":dot x /nonexistent-dir/g.dot"), Catch::Contains("cannot write '/nonexistent-dir/g.dot'"));

    const Outcome t = r.run(":time x * w");
    CHECK_THAT(t.output, Catch::StartsWith("interp: "));
    if (jit_available()) {
        CHECK(t.ok);
        CHECK_THAT(t.output, Catch::Contains("interp/jit: "));
    } else {
        CHECK_THAT(t.error, Catch::Contains("the JIT backend is not built yet"));
    }
}

TEST_CASE("repl: bad input is a positioned error and the session goes on", "[repl][error]") {
    Repl r;
    r.ok("x = [1, 2, 3]");
    CHECK(r.error("y = x + zz") == "t.nnj:7:9: unknown name 'zz'");
    CHECK(r.error("relu") == "t.nnj:7:1: 'relu' is a function: call it as relu(...)");
    CHECK(r.error("y = foo(x)") == "t.nnj:7:5: unknown function 'foo'");
    CHECK(r.error("relu(x, x)") == "t.nnj:7:1: relu takes 1 argument, got 2");
    CHECK(r.error("leaky_relu(x, 1, 2)") == "t.nnj:7:1: leaky_relu takes 1 to 2 arguments, got 3");
    CHECK(r.error("maximum(x)") == "t.nnj:7:1: maximum: missing argument 'b'");
    CHECK(r.error("elu(x, beta=2)") == "t.nnj:7:8: elu has no argument 'beta'");
    CHECK(r.error("leaky_relu(x, alpha=x)") == "t.nnj:7:21: leaky_relu: alpha must be a number, got a tensor");
    CHECK(r.error("sum(x, axis=0.5)") == "t.nnj:7:13: sum: axis must be an integer from -8 to 8, got 0.5");
    CHECK(r.error("sum(x, axis=3)") == "t.nnj:7:1: sum: axis 3 is out of range for shape (3,)");
    CHECK(r.error("x + [1, 2]") == "t.nnj:7:3: add: shapes (3,) and (2,) cannot be broadcast together");
    CHECK(r.error("x @ x") == "t.nnj:7:3: matmul: operands must be 2-D, got shapes (3,) and (3,)");
    CHECK(r.error("[[1, 2], [3]]") == "t.nnj:7:10: ragged list: 1 items where the first list at this level has 2");
    CHECK(r.error("[1, x]") == "t.nnj:7:5: list items must be numbers");
    CHECK(r.error("grad(x, 2)") == "t.nnj:7:9: grad: the second argument must be the name of a bound tensor");
    CHECK(r.error("grad(x)") == "t.nnj:7:1: grad takes 2 arguments (EXPR, NAME), got 1");
    CHECK(r.error("zeros(2.5)") == "t.nnj:7:7: zeros: a dimension must be an integer from 0 to 268435456, got 2.5");
    CHECK(r.error("zeros(100000, 100000)") ==
          "t.nnj:7:1: zeros: (100000, 100000) is more than the limit of 268435456 elements");
    CHECK(r.error("ones(100000, 1) + ones(100000)") ==
          "t.nnj:7:17: add would make a tensor of shape (100000, 100000) (10000000000 elements), more than the limit of 268435456");
    CHECK(r.error(":backend gpu") == "t.nnj:7:10: unknown backend 'gpu': use jit or interp");
    CHECK(r.error(":seed -1") == "t.nnj:7:7: seed must be a non-negative integer, got '-1'");
    CHECK(r.error("(x + 1") == "t.nnj:7:1: '(' is never closed\n    (x + 1\n    ^");
    CHECK(r.error(std::string("x \x01\xfe")) == "t.nnj:7:3: unexpected character '\\x01'\n    x ??\n      ^");
    // None of it disturbed the session.
    check_close(r.eval("x * 2"), {2, 4, 6}, 0, 0);
}

TEST_CASE("repl: :load and :save round-trip .npy files, and name bad files", "[repl][npy]") {
    Repl r;
    const auto dir = std::filesystem::temp_directory_path() / "nnjit_test_repl_npy";
    std::filesystem::create_directories(dir);
    const std::string f32 = (dir / "a.npy").string(), f64 = (dir / "b.npy").string();
    r.ok("a = [[1.5, -2], [3, 0.25]]");
    r.bind("b", DType::f64, Shape{3}, {0.1, 0.2, 0.3});
    r.ok(":save a " + f32);
    r.ok(":save b " + f64);
    r.ok(":load a2 " + f32);
    r.ok(":load b2 " + f64);
    CHECK(bitwise_equal(r.session.variables().at("a2"), r.session.variables().at("a")));
    CHECK(bitwise_equal(r.session.variables().at("b2"), r.session.variables().at("b")));
    CHECK(r.session.variables().at("b2").dtype() == DType::f64);

    CHECK_THAT(r.error(":load c " + (dir / "missing.npy").string()),
               Catch::StartsWith("t.nnj:7:9: ") && Catch::Contains("missing.npy"));
    const std::string bad = (dir / "bad.npy").string();
    {
        std::ofstream out(bad, std::ios::binary);
        out << "this is not a npy file";
    }
    CHECK_THAT(r.error(":load c " + bad), Catch::StartsWith("t.nnj:7:9: ") && Catch::Contains("bad.npy"));
    CHECK_THAT(r.error(":save nope " + f32), Catch::StartsWith("t.nnj:7:7: unknown name 'nope'"));
    CHECK(r.session.variables().count("c") == 0);
    std::filesystem::remove_all(dir);
}

TEST_CASE("repl: the JIT gives the interpreter's answers", "[repl][jit]") {
    if (!jit_available()) {
        WARN("the JIT backend is not built yet: these checks run once it is");
        return;
    }
    Repl interp, jit;
    jit.ok(":backend jit");
    for (Repl* r : {&interp, &jit}) {
        r->ok(":seed 3");
        r->ok("x = randn(4, 5)");
        r->ok("w = randn(5, 3)");
        r->ok("t = softmax(randn(4, 3))");
        r->ok("a = rand(5)");
    }
    const std::vector<std::string> exprs = {
        "relu(x)", "leaky_relu(x, alpha=0.1)", "prelu(x, a)", "sigmoid(x)", "tanh(x)", "elu(x)", "silu(x)",
        "gelu(x)", "softplus(x)", "exp(x)", "expm1(x)", "log1p(abs(x))", "log(abs(x))", "sqrt(abs(x))", "abs(x)", "maximum(x, 0.1)",
        "minimum(x, 0.1)", "erfc(x)", "where(greater(x, 0), x, exp(x))", "equal(relu(x), 0)", "max(x)",
        "min(x, axis=1)", "sum(x)", "sum(x, axis=0)", "mean(x)", "mean(x, axis=1)", "transpose(x)",
        "softmax(x)", "log_softmax(x, axis=0)", "mse(x @ w, t)", "cross_entropy(x @ w, t)",
        "x - max(x, axis=1, keepdims=1)", "reshape(x, 2, -1) * 2", "transpose(reshape(x, 2, 2, 5), 2, 0, 1)",
        "grad(sum(exp(x - max(x, axis=0, keepdims=1))), x)",
        "grad(sigmoid(x) * relu(x), x)", "grad(cross_entropy(relu(x @ w), t), w)", "grad(mse(gelu(x) @ w, t), x)",
        "x > 0.5", "x <= a", "(x != 0) * (x == x)", "where(x >= 0, x, 0.1 * x)", "clamp(x, -0.5, 0.5)",
        "grad(clamp(x * 2, -1, 1) * x, x)",
    };
    for (const auto& e : exprs) {
        INFO(e);
        check_close(jit.eval(e), interp.eval(e).to_doubles(), 1e-5, 1e-6);
    }
}

TEST_CASE("repl: :ir, :llvm and :asm show the JIT's kernels and real vector code", "[repl][jit]") {
    Repl r;
    r.ok("x = randn(4096)");
    if (!jit_available()) {
        CHECK_THAT(r.error(":llvm sigmoid(x)"), Catch::Contains("the JIT backend is not built yet"));
        WARN("the JIT backend is not built yet: the vector-code checks run once it is");
        return;
    }
    const Outcome ir = r.run(":ir sigmoid(x) * relu(x)");
    REQUIRE(ir.ok);
    CHECK_THAT(ir.output, Catch::Contains("kernels:\n") && Catch::Contains("kernel 0:"));
    const Outcome llvm = r.run(":llvm sigmoid(x) * relu(x)");
    REQUIRE(llvm.ok);
    // Vector IR: operations on <N x float> values.
    CHECK(has_line_with(llvm.output, {"fmul"}, {"<4 x float>", "<8 x float>", "<16 x float>"}));
#if defined(__x86_64__)
    const Outcome asm_ = r.run(":asm sigmoid(x) * relu(x)");
    REQUIRE(asm_.ok);
    // Packed single-precision arithmetic ("ps"), not the scalar "ss" forms only.
    CHECK(has_line_with(asm_.output, {}, {"\tvmulps\t", "\tmulps\t"}));
#endif
}
