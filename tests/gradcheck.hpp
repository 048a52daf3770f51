// gradcheck: compares the gradients nnjit's autodiff builds (run by the interpreter) with
// central finite differences, all in float64. For a graph f(x1, ..., xk) with any output
// shape, it checks the vector-Jacobian product w^T J for a fixed random cotangent w, i.e.
// the gradient of L(x) = sum(w * f(x)), element by element against
// (L(x + h e_i) - L(x - h e_i)) / 2h, and reports the worst element.
//
// Default tolerances, and why: the central difference has truncation error h^2/6 |L'''|
// (~2e-13 for h = 1e-6 and third derivatives of order 1) and rounding error about
// eps |L| / h (~2e-10 |L|); so |analytic - numeric| <= atol + rtol |numeric| with atol = 1e-7,
// rtol = 1e-6 leaves a margin of 100x or more, while a wrong rule is off by O(1).
// Inputs must stay at least `margin` away from kinks (margin >> h).
#pragma once

#include <catch2/catch.hpp>

#include <cmath>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "nnjit/autodiff.hpp"
#include "nnjit/graph_ops.hpp"
#include "nnjit/interpreter.hpp"

namespace nnjit::testing {

// One input of the function under test.
struct GradInput {
    std::string name;
    Shape shape;
    double lo = -2.0;               // values drawn uniformly in [lo, hi) ...
    double hi = 2.0;
    std::vector<double> kinks = {};  // ... and pushed at least `margin` away from these points
    double margin = 0.05;
    std::optional<Tensor> value = {};  // or exactly these values (float64, of `shape`)
};

struct GradcheckOptions {
    double h = 1e-6;
    double atol = 1e-7;
    double rtol = 1e-6;
    std::uint64_t seed = 1;
};

struct GradcheckResult {
    bool ok = true;
    double worst = 0;        // largest |analytic - numeric| / (atol + rtol |numeric|); ok when <= 1
    std::string report;      // the worst element, and any shape mismatch
    int elements = 0;        // how many partial derivatives were compared
};

using GradFunction = std::function<Value(Graph&, std::span<const Value>)>;

// Seeded values for one input (float64).
inline Tensor gradcheck_values(const GradInput& in, std::uint64_t seed) {
    if (in.value) return in.value->to(DType::f64);
    Tensor u = Tensor::rand(DType::f64, in.shape, seed);
    double* p = u.data<double>();
    for (std::int64_t i = 0; i < u.numel(); ++i) {
        double v = in.lo + (in.hi - in.lo) * p[i];
        for (double k : in.kinks)
            if (std::abs(v - k) < in.margin) v = v >= k ? k + in.margin : k - in.margin;
        p[i] = v;
    }
    return u;
}

inline GradcheckResult gradcheck(const GradFunction& f, const std::vector<GradInput>& inputs,
                                 const GradcheckOptions& options = {}) {
    Graph g;
    std::vector<Value> xs;
    Bindings bindings;
    for (std::size_t k = 0; k < inputs.size(); ++k) {
        xs.push_back(g.input(inputs[k].name, DType::f64, inputs[k].shape));
        bindings[inputs[k].name] = gradcheck_values(inputs[k], options.seed * 1000 + k);
    }
    const Value y = f(g, xs);
    GradcheckResult result;
    if (y.dtype() != DType::f64) {
        result.ok = false;
        result.report = fmt::format("the function's output is {}, not float64", y.dtype());
        return result;
    }
    // A cotangent in [0.5, 1.5) with random signs: every output element weighs in differently,
    // so a gradient routed to the wrong element cannot pass.
    Tensor w = Tensor::rand(DType::f64, y.shape(), options.seed + 77);
    {
        std::mt19937_64 signs(options.seed + 78);
        double* p = w.data<double>();
        for (std::int64_t i = 0; i < w.numel(); ++i) p[i] = (signs() & 1 ? 1.0 : -1.0) * (0.5 + p[i]);
    }
    const std::vector<Value> grads = grad(y, xs, g.literal(w));
    for (std::size_t k = 0; k < xs.size(); ++k)
        if (grads[k].shape() != xs[k].shape()) {
            result.ok = false;
            result.report += fmt::format("gradient of '{}' has shape {}, the input has {}\n", inputs[k].name,
                                         grads[k].shape(), xs[k].shape());
        }
    if (!result.ok) return result;

    const Interpreter forward({y});
    const Interpreter backward(grads);
    const std::vector<Tensor> analytic = backward.run(bindings);
    const auto loss = [&](const Bindings& b) {
        const Tensor out = forward.run(b)[0];
        const double* yo = out.data<double>();
        const double* wo = w.data<double>();
        long double total = 0;  // extra precision: the difference of two sums is what matters
        for (std::int64_t i = 0; i < out.numel(); ++i) total += static_cast<long double>(yo[i]) * wo[i];
        return static_cast<double>(total);
    };

    for (std::size_t k = 0; k < inputs.size(); ++k) {
        const std::string& name = inputs[k].name;
        const Tensor original = bindings[name];
        const Tensor ga = analytic[k].contiguous();
        for (std::int64_t i = 0; i < original.numel(); ++i) {
            Tensor plus = original.clone(), minus = original.clone();
            plus.data<double>()[i] += options.h;
            minus.data<double>()[i] -= options.h;
            bindings[name] = plus;
            const double lp = loss(bindings);
            bindings[name] = minus;
            const double lm = loss(bindings);
            const double numeric = (lp - lm) / (2 * options.h);
            const double a = ga.data<double>()[i];
            const double err = std::abs(a - numeric) / (options.atol + options.rtol * std::abs(numeric));
            ++result.elements;
            // NaN compares false: a NaN anywhere counts as the worst.
            if (!(err <= result.worst) || std::isnan(err)) {
                result.worst = std::isnan(err) ? INFINITY : err;
                result.report = fmt::format("worst: d/d{}[{}] (flat) at x = {}: analytic {:.12g}, numeric {:.12g}, "
                                            "|diff| {:.3g} ({:.3g} of the tolerance)",
                                            name, i, original.data<double>()[i], a, numeric, std::abs(a - numeric),
                                            err);
            }
        }
        bindings[name] = original;
    }
    result.ok = result.worst <= 1.0;
    return result;
}

// gradcheck as a Catch assertion that prints the worst element on failure.
inline void require_gradcheck(const GradFunction& f, const std::vector<GradInput>& inputs,
                              const GradcheckOptions& options = {}) {
    const GradcheckResult r = gradcheck(f, inputs, options);
    INFO(r.report);
    INFO(r.elements << " partial derivatives compared");
    CHECK(r.elements > 0);
    REQUIRE(r.ok);
}

}  // namespace nnjit::testing
