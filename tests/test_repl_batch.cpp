// nnjit-repl in batch mode, driven as a user would: the test writes .npy inputs, a script that
// loads them and saves every function's value and gradient, runs the REPL binary on it, reads
// the results back and compares them with formulas evaluated here in double. Run on the
// interpreter, and on the default engine (the JIT) when it is built. Also: bad input of every
// kind in one script, each a positioned error, the run going on, the exit status 1.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>

#include "nnjit/npy.hpp"
#include "nnjit/parser.hpp"

using namespace nnjit;
namespace fs = std::filesystem;

namespace {

// A small dense matrix in double for the reference formulas (rank 0 to 2).
struct Mat {
    std::vector<std::int64_t> shape;
    std::vector<double> v;
    std::int64_t rows() const { return shape.size() == 2 ? shape[0] : 1; }
    std::int64_t cols() const { return shape.empty() ? 1 : shape.back(); }
    double at(std::int64_t i, std::int64_t j) const { return v[static_cast<std::size_t>(i * cols() + j)]; }
};

Mat map(const Mat& m, const std::function<double(double)>& f) {
    Mat out = m;
    for (double& e : out.v) e = f(e);
    return out;
}
Mat zip(const Mat& a, const Mat& b, const std::function<double(double, double)>& f) {
    Mat out = a;
    for (std::size_t i = 0; i < out.v.size(); ++i) out.v[i] = f(a.v[i], b.v[i]);
    return out;
}
// Elementwise with b broadcast over rows (b has one row).
Mat zip_rows(const Mat& a, const Mat& b, const std::function<double(double, double)>& f) {
    Mat out = a;
    for (std::int64_t i = 0; i < a.rows(); ++i)
        for (std::int64_t j = 0; j < a.cols(); ++j) out.v[static_cast<std::size_t>(i * a.cols() + j)] = f(a.at(i, j), b.v[static_cast<std::size_t>(j)]);
    return out;
}
Mat scalar(double s) { return Mat{{}, {s}}; }
Mat reduce(const Mat& m, int axis, bool mean) {  // 2-D m; axis -1: everything
    Mat out;
    if (axis < 0) {
        double s = 0;
        for (double e : m.v) s += e;
        return scalar(mean ? s / static_cast<double>(m.v.size()) : s);
    }
    const std::int64_t n = axis == 0 ? m.cols() : m.rows(), k = axis == 0 ? m.rows() : m.cols();
    out.shape = {n};
    for (std::int64_t a = 0; a < n; ++a) {
        double s = 0;
        for (std::int64_t b = 0; b < k; ++b) s += axis == 0 ? m.at(b, a) : m.at(a, b);
        out.v.push_back(mean ? s / static_cast<double>(k) : s);
    }
    return out;
}
Mat transpose(const Mat& m) {
    Mat out{{m.cols(), m.rows()}, {}};
    for (std::int64_t j = 0; j < m.cols(); ++j)
        for (std::int64_t i = 0; i < m.rows(); ++i) out.v.push_back(m.at(i, j));
    return out;
}
Mat matmul(const Mat& a, const Mat& b) {
    Mat out{{a.rows(), b.cols()}, {}};
    for (std::int64_t i = 0; i < a.rows(); ++i)
        for (std::int64_t j = 0; j < b.cols(); ++j) {
            double s = 0;
            for (std::int64_t k = 0; k < a.cols(); ++k) s += a.at(i, k) * b.at(k, j);
            out.v.push_back(s);
        }
    return out;
}
Mat softmax_rows(const Mat& m) {
    Mat out = m;
    for (std::int64_t i = 0; i < m.rows(); ++i) {
        double s = 0;
        for (std::int64_t j = 0; j < m.cols(); ++j) s += std::exp(m.at(i, j));
        for (std::int64_t j = 0; j < m.cols(); ++j) out.v[static_cast<std::size_t>(i * m.cols() + j)] = std::exp(m.at(i, j)) / s;
    }
    return out;
}
Mat softmax_cols(const Mat& m) { return transpose(softmax_rows(transpose(m))); }
// Per row: r(row) * ones, e.g. the row sums of s*y broadcast back.
Mat row_sums_like(const Mat& m) {
    Mat out = m;
    const Mat s = reduce(m, 1, false);
    for (std::int64_t i = 0; i < m.rows(); ++i)
        for (std::int64_t j = 0; j < m.cols(); ++j) out.v[static_cast<std::size_t>(i * m.cols() + j)] = s.v[static_cast<std::size_t>(i)];
    return out;
}

double sigmoid(double v) { return 1 / (1 + std::exp(-v)); }
double phi(double v) { return std::exp(-v * v / 2) / std::sqrt(2 * M_PI); }
double cdf(double v) { return 0.5 * std::erfc(-v / std::sqrt(2.0)); }

Mat from_tensor(const Tensor& t) { return Mat{t.shape().dims(), t.to_doubles()}; }
Tensor to_tensor(const Mat& m, DType dtype) {
    return Tensor::from<double>(Shape(m.shape), std::span<const double>(m.v)).to(dtype);
}

struct Fixture {
    fs::path dir;
    Mat x{{2, 3}, {-1.5, -0.5, 0, 0.5, 1, 2}};      // one exact 0: the kinks
    Mat y{{2, 3}, {1, -1, 0, 0.5, 2, -3}};          // ties with x at (0, 2) and (1, 0)
    Mat p{{2, 3}, {0.25, 0.5, 1, 2, 4, 9}};         // positive
    Mat a{{3}, {0.1, 0.2, 0.3}};                    // prelu slopes, one per column
    Mat t{{2, 3}, {0, 0, 1, 1, 0, 0}};              // one-hot targets
    Mat w{{3, 2}, {0.5, -1, 1.5, 0.25, -0.75, 2}};
    Mat d{{2, 3}, {0.1, 0.2, 0.3, 0.4, 0.5, 0.6}};  // float64

    explicit Fixture(const std::string& name) : dir(fs::temp_directory_path() / ("nnjit_repl_batch_" + name)) {
        fs::remove_all(dir);
        fs::create_directories(dir);
        for (auto [n, m] : {std::pair{"x", &x}, {"y", &y}, {"p", &p}, {"a", &a}, {"t", &t}, {"w", &w}})
            write_npy(dir / (std::string(n) + ".npy"), to_tensor(*m, DType::f32));
        write_npy(dir / "d.npy", to_tensor(d, DType::f64));
        // The inputs as float32 values, for the references.
        for (auto m : {&x, &y, &p, &a, &t, &w}) *m = from_tensor(to_tensor(*m, DType::f32));
    }
    ~Fixture() { fs::remove_all(dir); }

    std::string path(const std::string& name) const { return (dir / name).string(); }

    // Runs the REPL on `script` (as its argument, or on stdin); returns its exit status,
    // stdout and stderr.
    int run(const std::string& script, std::string& out, std::string& err, bool on_stdin = false) const {
        const std::string file = path("script.nnj");
        std::ofstream(file, std::ios::binary) << script;
        const std::string cmd = std::string("'") + NNJIT_REPL_PATH + (on_stdin ? "' < '" : "' '") + file + "' > '" +
                                path("out.txt") + "' 2> '" + path("err.txt") + "'";
        const int status = std::system(cmd.c_str());
        auto slurp = [](const std::string& f) {
            std::ifstream in(f, std::ios::binary);
            std::stringstream ss;
            ss << in.rdbuf();
            return ss.str();
        };
        out = slurp(path("out.txt"));
        err = slurp(path("err.txt"));
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
};

struct Case {
    std::string expr;
    Mat want;
    DType dtype = DType::f32;
};

std::vector<Case> cases(const Fixture& f) {
    const Mat& x = f.x;
    const Mat& y = f.y;
    const Mat& p = f.p;
    const Mat& a = f.a;
    const Mat& t = f.t;
    const Mat& w = f.w;
    const Mat sx = softmax_rows(x);
    const auto ones = [](std::vector<std::int64_t> shape, double v = 1) {
        std::int64_t n = 1;
        for (auto s : shape) n *= s;
        return Mat{shape, std::vector<double>(static_cast<std::size_t>(n), v)};
    };
    const auto tie = [](double u, double v, bool max) { return u == v ? 0.5 : ((max ? u > v : u < v) ? 1.0 : 0.0); };
    Mat x_plus_d = zip(x, f.d, std::plus<>());
    return {
        // values
        {"relu(x)", map(x, [](double v) { return v > 0 ? v : 0; })},
        {"leaky_relu(x)", map(x, [](double v) { return v > 0 ? v : 0.01 * v; })},
        {"leaky_relu(x, alpha=0.2)", map(x, [](double v) { return v > 0 ? v : 0.2 * v; })},
        {"prelu(x, a)", zip_rows(x, a, [](double v, double s) { return v > 0 ? v : s * v; })},
        {"sigmoid(x)", map(x, sigmoid)},
        {"tanh(x)", map(x, [](double v) { return std::tanh(v); })},
        {"elu(x)", map(x, [](double v) { return v > 0 ? v : std::expm1(v); })},
        {"elu(x, alpha=0.5)", map(x, [](double v) { return v > 0 ? v : 0.5 * std::expm1(v); })},
        {"silu(x)", map(x, [](double v) { return v * sigmoid(v); })},
        {"gelu(x)", map(x, [](double v) { return v * cdf(v); })},
        {"softplus(x)", map(x, [](double v) { return std::log1p(std::exp(v)); })},
        {"exp(x)", map(x, [](double v) { return std::exp(v); })},
        {"log(p)", map(p, [](double v) { return std::log(v); })},
        {"sqrt(p)", map(p, [](double v) { return std::sqrt(v); })},
        {"abs(x)", map(x, [](double v) { return std::abs(v); })},
        {"maximum(x, y)", zip(x, y, [](double u, double v) { return std::max(u, v); })},
        {"minimum(x, y)", zip(x, y, [](double u, double v) { return std::min(u, v); })},
        {"sum(x)", reduce(x, -1, false)},
        {"sum(x, axis=0)", reduce(x, 0, false)},
        {"sum(x, axis=1)", reduce(x, 1, false)},
        {"mean(x)", reduce(x, -1, true)},
        {"mean(x, axis=0)", reduce(x, 0, true)},
        {"mean(x, axis=-1)", reduce(x, 1, true)},
        {"transpose(x)", transpose(x)},
        {"softmax(x)", sx},
        {"softmax(x, axis=0)", softmax_cols(x)},
        {"log_softmax(x)", map(sx, [](double v) { return std::log(v); })},
        {"log_softmax(x, axis=0)", map(softmax_cols(x), [](double v) { return std::log(v); })},
        {"mse(x, y)", reduce(zip(x, y, [](double u, double v) { return (u - v) * (u - v); }), -1, true)},
        {"cross_entropy(x, t)", scalar(-reduce(zip(t, map(sx, [](double v) { return std::log(v); }), std::multiplies<>()), -1, false).v[0] / 2)},
        {"x @ w", matmul(x, w)},
        {"x + d", x_plus_d, DType::f64},
        {"zeros(2, 3)", ones({2, 3}, 0)},
        {"ones(4)", ones({4})},
        {"full(-1.5, 3)", ones({3}, -1.5)},
        {"arange(5)", Mat{{5}, {0, 1, 2, 3, 4}}},
        {"linspace(-1, 1, 5)", Mat{{5}, {-1, -0.5, 0, 0.5, 1}}},
        // gradients of sum(EXPR); kinks at x = 0 follow PyTorch
        {"grad(relu(x), x)", map(x, [](double v) { return v > 0 ? 1.0 : 0.0; })},
        {"grad(leaky_relu(x, alpha=0.2), x)", map(x, [](double v) { return v > 0 ? 1.0 : 0.2; })},
        {"grad(prelu(x, a), x)", zip_rows(x, a, [](double v, double s) { return v > 0 ? 1.0 : s; })},
        {"grad(prelu(x, a), a)", reduce(map(x, [](double v) { return v > 0 ? 0.0 : v; }), 0, false)},
        {"grad(abs(x), x)", map(x, [](double v) { return v > 0 ? 1.0 : (v < 0 ? -1.0 : 0.0); })},
        {"grad(maximum(x, y), x)", zip(x, y, [&](double u, double v) { return tie(u, v, true); })},
        {"grad(maximum(x, y), y)", zip(y, x, [&](double u, double v) { return tie(u, v, true); })},
        {"grad(minimum(x, y), x)", zip(x, y, [&](double u, double v) { return tie(u, v, false); })},
        {"grad(sigmoid(x), x)", map(x, [](double v) { return sigmoid(v) * (1 - sigmoid(v)); })},
        {"grad(tanh(x), x)", map(x, [](double v) { return 1 - std::tanh(v) * std::tanh(v); })},
        {"grad(elu(x, alpha=0.5), x)", map(x, [](double v) { return v > 0 ? 1.0 : 0.5 * std::exp(v); })},
        {"grad(silu(x), x)", map(x, [](double v) { return sigmoid(v) * (1 + v * (1 - sigmoid(v))); })},
        {"grad(gelu(x), x)", map(x, [](double v) { return cdf(v) + v * phi(v); })},
        {"grad(softplus(x), x)", map(x, sigmoid)},
        {"grad(exp(x), x)", map(x, [](double v) { return std::exp(v); })},
        {"grad(log(p), p)", map(p, [](double v) { return 1 / v; })},
        {"grad(sqrt(p), p)", map(p, [](double v) { return 0.5 / std::sqrt(v); })},
        {"grad(sum(x, axis=0), x)", ones({2, 3})},
        {"grad(mean(x), x)", ones({2, 3}, 1.0 / 6)},
        {"grad(transpose(x) * transpose(y), x)", y},
        {"grad(softmax(x) * y, x)",
         zip(sx, zip(y, row_sums_like(zip(sx, y, std::multiplies<>())), std::minus<>()), std::multiplies<>())},
        {"grad(log_softmax(x) * y, x)", zip(y, zip(sx, row_sums_like(y), std::multiplies<>()), std::minus<>())},
        {"grad(mse(x, y), x)", zip(x, y, [](double u, double v) { return 2 * (u - v) / 6; })},
        {"grad(cross_entropy(x, t), x)", zip(sx, t, [](double s, double q) { return (s - q) / 2; })},
        {"grad(x @ w, w)", matmul(transpose(x), ones({2, 2}))},
        {"grad(x @ w, x)", matmul(ones({2, 2}), transpose(w))},
        {"grad(x * d, x)", f.d},  // float32 gradient of a float64 expression
        {"grad(x * d, d)", x, DType::f64},
    };
}

std::string script_for(const Fixture& f, const std::vector<Case>& cs, bool interp) {
    std::string s = interp ? ":backend interp\n" : "# the default engine\n";
    for (const char* n : {"x", "y", "p", "a", "t", "w", "d"}) s += fmt::format(":load {} {}\n", n, f.path(std::string(n) + ".npy"));
    for (std::size_t i = 0; i < cs.size(); ++i)
        s += fmt::format("r{} = {}\n:save r{} {}\n", i, cs[i].expr, i, f.path(fmt::format("r{}.npy", i)));
    return s;
}

void check_results(const Fixture& f, const std::vector<Case>& cs) {
    for (std::size_t i = 0; i < cs.size(); ++i) {
        INFO(cs[i].expr);
        const Tensor got = read_npy(f.dir / fmt::format("r{}.npy", i));
        CHECK(got.dtype() == cs[i].dtype);
        REQUIRE(got.shape() == Shape(cs[i].want.shape));
        const auto v = got.to_doubles();
        // float32: a few roundings (vmath's functions are within 1e-6 relative); float64 tighter.
        const double rtol = cs[i].dtype == DType::f32 ? 2e-6 : 1e-12, atol = cs[i].dtype == DType::f32 ? 1e-7 : 1e-15;
        for (std::size_t k = 0; k < v.size(); ++k) {
            INFO("element " << k << ": got " << v[k] << ", want " << cs[i].want.v[k]);
            CHECK(std::abs(v[k] - cs[i].want.v[k]) <= rtol * std::abs(cs[i].want.v[k]) + atol);
        }
    }
}

}  // namespace

TEST_CASE("repl batch: every function and its gradient, interpreter", "[repl][interp]") {
    Fixture f("interp");
    const auto cs = cases(f);
    std::string out, err;
    const int status = f.run(script_for(f, cs, true), out, err);
    INFO(err);
    REQUIRE(status == 0);
    CHECK(out.empty());  // assignments, :load and :save print nothing
    CHECK(err.empty());
    check_results(f, cs);
}

TEST_CASE("repl batch: every function and its gradient, default engine (JIT)", "[repl][jit]") {
    Fixture f("jit");
    const auto cs = cases(f);
    std::string out, err;
    const int status = f.run(script_for(f, cs, false), out, err);
    if (err.find("the JIT backend is not built yet") != std::string::npos) {
        WARN("SKIPPED: the JIT backend is not built yet; this test checks it once it is");
        return;
    }
    INFO(err);
    REQUIRE(status == 0);
    check_results(f, cs);
}

TEST_CASE("repl batch: bad input, one positioned error a line, the run goes on", "[repl][error]") {
    Fixture f("errors");
    // A .npy file with a good magic and a garbage header; a rank-5 array; a missing file.
    {
        std::ofstream out(f.path("bad.npy"), std::ios::binary);
        out << "\x93NUMPY\x01\x00\x10\x00{'descr': '<i8',\n";
    }
    write_npy(f.dir / "rank5.npy", Tensor::zeros(DType::f32, Shape{1, 1, 1, 1, 2}));
    std::string script = ":backend interp\n";
    script += "x = [[1, 2]]\n";                                         // 2
    script += "y = x @ [[1, 2, 3], [4, 5, 6]] + [1, 2]\n";               // 3: (3,) vs (2,)
    script += "z = " + std::string(1 << 20, '(') + "\n";                 // 4: a 1 MB line
    script += "z = " + std::string(1 << 20, 'q') + "\n";                 // 5: a 1 MB unknown name
    script += std::string("\x01\xff\xfe garbage\r\n");                   // 6
    script += ":load b " + f.path("bad.npy") + "\n";                     // 7
    script += ":load b " + f.path("rank5.npy") + "\n";                   // 8
    script += ":load b " + f.path("missing.npy") + "\n";                 // 9
    script += "relu(x, alpha=2)\n";                                      // 10
    script += "softmax(x, axis=2)\n";                                    // 11
    script += "[1, [2, 3]\n";                                            // 12
    script += "x = x * 3\n";                                             // 13: still running
    script += ":save x " + f.path("x3.npy") + "\n";                      // 14
    std::string out, err;
    const int status = f.run(script, out, err);
    CHECK(status == 1);
    CHECK(out.empty());
    // One "error: FILE:LINE:COL:" per bad line, in order.
    std::vector<std::string> heads;
    std::istringstream lines(err);
    for (std::string l; std::getline(lines, l);)
        if (l.rfind("error: ", 0) == 0) heads.push_back(l);
    const std::string file = f.path("script.nnj");
    const std::vector<std::string> want_prefix = {
        file + ":3:32: add: shapes (1, 3) and (2,) cannot be broadcast together",
        // "z = " then the 256th "(" opens level 257: its content would start at column 5 + 256.
        file + ":4:" + std::to_string(5 + kMaxExprDepth) + ": expression nested too deeply",
        file + ":5:5: unknown name 'qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq...'",
        file + ":6:1: unexpected character '\\x01'",
        file + ":7:9: " + f.path("bad.npy") + ": ",
        file + ":8:9: " + f.path("rank5.npy") + ": shape (1, 1, 1, 1, 2) has rank 5; :load takes rank 0 to 4",
        file + ":9:9: " + f.path("missing.npy") + ": ",
        file + ":10:9: relu has no argument 'alpha'",
        file + ":11:1: softmax: axis 2 is out of range for shape (1, 2)",
        file + ":12:1: '[' is never closed",
    };
    REQUIRE(heads.size() == want_prefix.size());
    for (std::size_t i = 0; i < heads.size(); ++i) {
        INFO(heads[i].substr(0, 200));
        CHECK(heads[i].rfind("error: " + want_prefix[i], 0) == 0);
        CHECK(heads[i].size() < 300);  // one readable line, even for a megabyte of input
    }
    const Tensor x3 = read_npy(f.dir / "x3.npy");
    CHECK(x3.to_doubles() == std::vector<double>{3, 6});
}

TEST_CASE("repl batch: a script on stdin runs without a prompt, errors name <stdin>", "[repl][error]") {
    Fixture f("stdin");
    std::string out, err;
    CHECK(f.run(":backend interp\nx = [1, 2]\nx * 3\n:quit\nx + q\n", out, err, true) == 0);  // :quit stops it
    CHECK(out == "tensor([3, 6], dtype=float32, shape=(2,))\n");
    CHECK(err.empty());
    CHECK(f.run(":backend interp\n\nx = [1, 2] +\n[5]\n", out, err, true) == 1);
    CHECK(err == "error: <stdin>:3:13: expected an expression, got end of line\n    x = [1, 2] +\n                ^\n");
    CHECK(out == "tensor([5], dtype=float32, shape=(1,))\n");
}
