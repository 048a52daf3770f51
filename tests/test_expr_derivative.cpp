// d(e, x): the compile-time derivative, checked against the graph autodiff (nnjit::grad, float64)
// and against central finite differences.
#include <catch2/catch.hpp>

#include <cmath>

#include "nnjit/nnjit.hpp"

using namespace nnjit;

namespace {

constexpr auto x = input<"x", double, Dims<Dynamic, 6>>;
constexpr auto y = parameter<"y", double, Dims<Dynamic, 6>>;

// Points away from the kinks (where one-sided derivatives differ), both signs.
Tensor points(std::uint64_t seed) {
    Tensor t = Tensor::randn(DType::f64, Shape{4, 6}, seed);
    double* p = t.data<double>();
    for (std::int64_t i = 0; i < t.numel(); ++i)
        if (std::abs(p[i]) < 0.05) p[i] += 0.1;
    return t;
}

// d(e, var) evaluated, against grad(sum(e), var) on the interpreter and finite differences.
template <class E, class Var> void check_derivative(const E& e, const Var& var, const Bindings& bindings) {
    const Tensor fused = eval(d(e, var), bindings);

    Graph g;
    const Value out = to_graph(e, g, bindings);
    const Value wrt = to_graph(var, g, bindings);
    const Tensor autodiff = Interpreter({grad(sum(out), wrt)}).run(bindings)[0];
    REQUIRE(fused.shape() == autodiff.shape());

    const std::string name(Var::name());
    const Tensor base = bindings.at(name);
    const double h = 1e-6;
    for (std::int64_t i = 0; i < base.numel(); ++i) {
        const auto shifted = [&](double delta) {
            Bindings moved = bindings;
            Tensor t = base.clone();
            t.data<double>()[i] += delta;
            moved.insert_or_assign(name, t);
            return eval(e, moved).flat(i);
        };
        const double fd = (shifted(h) - shifted(-h)) / (2 * h);
        INFO("element " << i << " at " << base.flat(i));
        CHECK(fused.flat(i) == Approx(autodiff.flat(i)).epsilon(1e-12).margin(1e-14));
        CHECK(fused.flat(i) == Approx(fd).epsilon(1e-6).margin(1e-8));
    }
}

}  // namespace

TEST_CASE("d: unary ops match autodiff and finite differences", "[expr][autodiff]") {
    const Bindings b{{"x", points(1)}, {"y", points(2)}};
    check_derivative(-x, x, b);
    check_derivative(exp(x), x, b);
    check_derivative(log(abs(x) + 0.5), x, b);
    check_derivative(sqrt(abs(x) + 0.5), x, b);
    check_derivative(abs(x), x, b);
    check_derivative(relu(x), x, b);
    check_derivative(leaky_relu(x, 0.1), x, b);
    check_derivative(sigmoid(x), x, b);
    check_derivative(tanh(x), x, b);
    check_derivative(elu(x, 0.5), x, b);
    check_derivative(silu(x), x, b);
    check_derivative(gelu(x), x, b);
    check_derivative(softplus(x), x, b);
    check_derivative(expm1(x), x, b);
    check_derivative(log1p(abs(x) - 0.5), x, b);
    check_derivative(erfc(x), x, b);
}

TEST_CASE("d: binary ops and compositions, with respect to either operand", "[expr][autodiff]") {
    const Bindings b{{"x", points(3)}, {"y", points(4)}};
    const auto chain = sigmoid(2.0 * x + 0.5) * relu(x);
    check_derivative(chain, x, b);
    check_derivative(x * y + x / (abs(y) + 1.0), x, b);
    check_derivative(x * y + x / (abs(y) + 1.0), y, b);
    check_derivative(x - y * 3.0, y, b);
    check_derivative(maximum(x, y) + minimum(x, 2.0 * y), x, b);
    check_derivative(prelu(x, y), x, b);
    check_derivative(prelu(x, y), y, b);
    check_derivative(where(greater(x, y), tanh(x), x * y), x, b);
    check_derivative(tanh(silu(x * y) - gelu(y)) * softplus(x), y, b);
}

TEST_CASE("d: linear and constant cases keep the expression's shape", "[expr][autodiff]") {
    const Bindings b{{"x", points(5)}, {"y", points(6)}};
    const Tensor dx = eval(d(x, x), b);
    CHECK(dx.shape() == Shape{4, 6});
    for (double v : dx.to_doubles()) CHECK(v == 1.0);
    const Tensor dc = eval(d(3.0 * y + 1.0, x), b);  // does not depend on x
    CHECK(dc.shape() == Shape{4, 6});
    for (double v : dc.to_doubles()) CHECK(v == 0.0);
    check_derivative(3.0 * x - 2.0, x, b);
}

TEST_CASE("d: the derivative is an expression: differentiate it again, emit it as a graph", "[expr][autodiff]") {
    const Bindings b{{"x", points(7)}};
    const auto e = tanh(x) * x;
    const auto de = d(e, x);
    check_derivative(de, x, b);  // the second derivative
    const Tensor via_graph = run(Backend::interp, b, de)[0];
    CHECK(bitwise_equal(via_graph, eval(de, b)));
}

TEST_CASE("d: float32 derivative is close to the float64 one", "[expr][autodiff]") {
    constexpr auto xf = input<"xf", float, Dims<Dynamic, 6>>;
    const Tensor t = points(8);
    const Tensor df = eval(d(sigmoid(xf) * tanh(xf), xf), xf = t.to(DType::f32));
    const Tensor dd = eval(d(sigmoid(x) * tanh(x), x), x = t);
    for (std::int64_t i = 0; i < t.numel(); ++i) CHECK(df.flat(i) == Approx(dd.flat(i)).epsilon(1e-5).margin(1e-6));
}
