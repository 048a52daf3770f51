// Outputs written over inputs (InPlace): on both engines the results are those of a run with
// separate tensors, whatever order the graph would otherwise run its nodes in; outputs that
// cannot be written in place (a cycle, an input read at another element) are still right; a
// wrong request is a clear error.
#include <catch2/catch.hpp>

#include <algorithm>
#include <random>

#include "nnjit/autodiff.hpp"
#include "nnjit/engine.hpp"
#include "nnjit/fold_products.hpp"
#include "nnjit/graph_ops.hpp"

using namespace nnjit;
using Catch::Matchers::Contains;

#define CHECK_USER_ERROR(expr, matcher)      \
    do {                                     \
        try {                                \
            (void)(expr);                    \
            FAIL("no UserError was thrown"); \
        } catch (const UserError& e) {       \
            CHECK_THAT(e.what(), matcher);   \
        }                                    \
    } while (0)

namespace {

Backend any_backend() { return GENERATE(Backend::interp, Backend::jit); }

// Runs `outputs` twice on `backend`: with separate tensors (run), and with run_into given each
// output of `in_place` as the very tensor of its input. The results must be the same bits,
// and the inputs not written over must be untouched.
void check_same_as_separate(const std::vector<Value>& outputs, const std::vector<InPlace>& in_place,
                            const Bindings& bindings, Backend backend) {
    CAPTURE(backend_name(backend));
    const auto separate = compile(outputs, backend);
    const auto program = compile(outputs, backend, in_place);
    Bindings mine;  // copies: the run writes over some of them
    for (const auto& [name, t] : bindings) mine.emplace(name, t.clone());
    std::vector<const Tensor*> inputs;
    for (const std::string& name : program->input_names()) inputs.push_back(&mine.at(name));
    std::vector<Tensor> results;
    for (const Value& v : outputs) results.push_back(Tensor::empty(v.dtype(), v.shape()));
    for (const InPlace& ip : in_place) results[ip.output] = mine.at(ip.input);
    // Twice: the second run starts from what the first wrote over its inputs, as training does.
    for (int run = 0; run < 2; ++run) {
        CAPTURE(run);
        Bindings before;
        for (const auto& [name, t] : mine) before.emplace(name, t.clone());
        const auto want = separate->run(before);
        program->run_into(inputs, results);
        for (std::size_t k = 0; k < outputs.size(); ++k) {
            CAPTURE(k);
            CHECK(bitwise_equal(results[k], want[k]));
        }
        for (const auto& [name, t] : before) {
            bool written = false;
            for (const InPlace& ip : in_place) written = written || ip.input == name;
            CAPTURE(name);
            if (!written) CHECK(bitwise_equal(mine.at(name), t));
        }
    }
}

}  // namespace

TEST_CASE("in place: the input is read by every step before it is written over", "[inplace][interp][jit]") {
    // The graph lists the new w first, so it would run before the products that read w.
    Graph g;
    const Value w = g.parameter("w", DType::f32, Shape{8, 8});
    const Value x = g.input("x", DType::f32, Shape{4, 8});
    const std::vector<Value> outputs{w * 2.0 + 1.0, matmul(x, w), matmul(x, transpose(w)), sum(w * w)};
    const Bindings b{{"w", Tensor::randn(DType::f32, Shape{8, 8}, 1)}, {"x", Tensor::randn(DType::f32, Shape{4, 8}, 2)}};
    check_same_as_separate(outputs, {{0, "w"}}, b, any_backend());
}

TEST_CASE("in place: an SGD step on a two-layer network updates its parameters where they are", "[inplace][interp][jit]") {
    Graph g;
    const Value x = g.input("x", DType::f32, Shape{16, 24}), t = g.input("t", DType::f32, Shape{16, 4});
    const Value w1 = g.parameter("w1", DType::f32, Shape{24, 32}), b1 = g.parameter("b1", DType::f32, Shape{32});
    const Value w2 = g.parameter("w2", DType::f32, Shape{32, 4}), lr = g.input("lr", DType::f32, Shape{});
    const Value z = matmul(relu(matmul(x, w1) + b1), w2);  // the backward pass reads w2 (dh = dz @ w2^T)
    const Value loss = mse(z, t);
    const std::vector<Value> params{w1, b1, w2};
    const auto grads = grad(loss, params);
    std::vector<Value> outputs{loss, z};
    for (std::size_t i = 0; i < params.size(); ++i) outputs.push_back(params[i] - lr * grads[i]);
    outputs = fold_products(outputs);  // the weights' updates become gemms accumulating into w
    REQUIRE(outputs[2].node()->op() == Op::MatMulAcc);
    const Bindings b{{"x", Tensor::randn(DType::f32, Shape{16, 24}, 1)}, {"t", Tensor::randn(DType::f32, Shape{16, 4}, 2)},
                     {"w1", Tensor::randn(DType::f32, Shape{24, 32}, 3)}, {"b1", Tensor::randn(DType::f32, Shape{32}, 4)},
                     {"w2", Tensor::randn(DType::f32, Shape{32, 4}, 5)}, {"lr", Tensor::scalar(DType::f32, 0.1)}};
    check_same_as_separate(outputs, {{2, "w1"}, {3, "b1"}, {4, "w2"}}, b, any_backend());
}

TEST_CASE("in place: an Adam-like update writes m, v and w over themselves", "[inplace][interp][jit]") {
    Graph g;
    const Shape s{40, 24};
    const Value gr = g.input("g", DType::f32, s), m = g.input("m", DType::f32, s), v = g.input("v", DType::f32, s);
    const Value w = g.parameter("w", DType::f32, s);
    const Value m2 = 0.9 * m + 0.1 * gr, v2 = 0.999 * v + 0.001 * gr * gr;
    const std::vector<Value> outputs{m2, v2, w - 0.01 * m2 / (sqrt(v2) + 1e-8)};
    const Bindings b{{"g", Tensor::randn(DType::f32, s, 1)}, {"m", Tensor::randn(DType::f32, s, 2)},
                     {"v", Tensor::rand(DType::f32, s, 3)}, {"w", Tensor::randn(DType::f32, s, 4)}};
    check_same_as_separate(outputs, {{0, "m"}, {1, "v"}, {2, "w"}}, b, any_backend());
}

TEST_CASE("in place: outputs that cannot be written in place are still right", "[inplace][interp][jit]") {
    Graph g;
    const Value w = g.parameter("w", DType::f32, Shape{6, 6});
    const Bindings b{{"w", Tensor::randn(DType::f32, Shape{6, 6}, 7)}};
    const Backend backend = any_backend();
    SECTION("a step reads both the input and the new value (no order works)") {
        const Value w2 = w + 1.0;
        check_same_as_separate({w2, matmul(w2, w)}, {{0, "w"}}, b, backend);
    }
    SECTION("the new value reads the input at other elements") {
        check_same_as_separate({w + transpose(w)}, {{0, "w"}}, b, backend);
    }
    SECTION("an output that is the input itself, and one that is a view of it") {
        check_same_as_separate({w * 3.0, w, transpose(w)}, {{0, "w"}}, b, backend);
    }
}

TEST_CASE("in place: two inputs swapped", "[inplace][interp][jit]") {
    Graph g;
    const Value a = g.input("a", DType::f64, Shape{3, 2}), c = g.input("c", DType::f64, Shape{3, 2});
    const Bindings b{{"a", Tensor::randn(DType::f64, Shape{3, 2}, 1)}, {"c", Tensor::randn(DType::f64, Shape{3, 2}, 2)}};
    check_same_as_separate({c, a, a + c}, {{0, "a"}, {1, "c"}}, b, any_backend());
}

TEST_CASE("in place: separate tensors may still be passed", "[inplace][interp][jit]") {
    Graph g;
    const Value w = g.parameter("w", DType::f32, Shape{4, 4});
    const auto program = compile({w * 2.0}, any_backend(), {{0, "w"}});
    const Tensor wt = Tensor::randn(DType::f32, Shape{4, 4}, 3), before = wt.clone();
    std::vector<Tensor> out{Tensor::empty(DType::f32, Shape{4, 4})};
    const Tensor* in[] = {&wt};
    program->run_into(in, out);
    CHECK(bitwise_equal(wt, before));
    CHECK(out[0].flat(5) == 2 * before.flat(5));
}

TEST_CASE("in place: a wrong request is a clear error", "[inplace][error][interp][jit]") {
    Graph g;
    const Value w = g.parameter("w", DType::f32, Shape{4, 4}), x = g.input("x", DType::f32, Shape{4, 4});
    const Value y = g.input("y", DType::f64, Shape{4, 4});
    const std::vector<Value> outputs{w + x, w * x, cast(y, DType::f32), sum(w)};
    const Backend backend = any_backend();
    CHECK_USER_ERROR(compile(outputs, backend, {{4, "w"}}), Contains("output 4 does not exist"));
    CHECK_USER_ERROR(compile(outputs, backend, {{0, "z"}}), Contains("no input of that name (inputs: w, x, y)"));
    CHECK_USER_ERROR(compile(outputs, backend, {{2, "y"}}), Contains("output 2 (float32 (4, 4)) cannot be written over 'y' (float64 (4, 4))"));
    CHECK_USER_ERROR(compile(outputs, backend, {{3, "w"}}), Contains("output 3 (float32 ()) cannot be written over 'w'"));
    CHECK_USER_ERROR(compile(outputs, backend, {{0, "w"}, {0, "x"}}), Contains("output 0 is declared twice"));
    CHECK_USER_ERROR(compile(outputs, backend, {{0, "w"}, {1, "w"}}), Contains("two outputs are declared over 'w'"));

    const auto program = compile(outputs, backend, {{0, "w"}});
    Tensor wt = Tensor::randn(DType::f32, Shape{4, 4}, 1), xt = Tensor::randn(DType::f32, Shape{4, 4}, 2);
    const Tensor yt = Tensor::randn(DType::f64, Shape{4, 4}, 3);
    const Tensor* in[] = {&wt, &xt, &yt};
    std::vector<Tensor> out{wt, Tensor::empty(DType::f32, Shape{4, 4}), Tensor::empty(DType::f32, Shape{4, 4}),
                            Tensor::empty(DType::f32, Shape{})};
    program->run_into(in, out);  // as declared
    out[1] = xt;
    CHECK_USER_ERROR(program->run_into(in, out), Contains("output 1 shares memory with input 'x', which it was not compiled to be written over"));
    out[1] = Tensor::empty(DType::f32, Shape{4, 4});
    // The input as a transposed view of the output's memory: the same bytes, other elements.
    const Tensor w_transposed = wt.transpose();
    const Tensor* in_t[] = {&w_transposed, &xt, &yt};
    CHECK_USER_ERROR(program->run_into(in_t, out), Contains("output 0 overlaps input 'w' without being the same tensor"));
    Bindings by_name{{"w", wt}, {"x", xt}, {"y", yt}};
    out[0] = Tensor::empty(DType::f32, Shape{4, 4});
    out[3] = by_name.at("x");  // wrong shape: the shape check comes first
    CHECK_USER_ERROR(program->run_into(by_name, out), Contains("output 3 must be a contiguous float32 ()"));
}

TEST_CASE("jit: a kernel's result takes a dying temporary's buffer only if it reads it element by element",
          "[inplace][jit]") {
    // t is a product's result (a temporary) that only the next kernel reads: that kernel's
    // result (a temporary too: the product after it reads it) may be written over t when it
    // reads t element by element (2t + 1), not when it reads t(j, i) for element (i, j).
    Graph g;
    const Value a = g.input("a", DType::f32, Shape{48, 48}), b = g.input("b", DType::f32, Shape{48, 48});
    const Value t = matmul(a, b);
    const Bindings bind{{"a", Tensor::randn(DType::f32, Shape{48, 48}, 1)}, {"b", Tensor::randn(DType::f32, Shape{48, 48}, 2)}};
    for (const Value& y : {t * 2.0 + 1.0, t + transpose(t), relu(t) * transpose(t)}) {
        const auto want = compile({matmul(y, a)}, Backend::interp)->run(bind);
        const auto got = compile({matmul(y, a)}, Backend::jit)->run(bind);
        CHECK(bitwise_equal(got[0], want[0]));
    }
}

TEST_CASE("in place: 200 random graphs give the results of separate tensors", "[inplace][interp][jit][random]") {
    // Square matrices, so that products and transposes keep the shape: every value may be
    // an output over either input, and products, transposes and elementwise ops read the
    // inputs in every order and layout.
    const Shape s{12, 12};
    for (std::uint64_t seed = 1; seed <= 200; ++seed) {
        CAPTURE(seed);
        std::mt19937_64 rng(seed);
        const auto pick = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
        Graph g;
        const Value w = g.parameter("w", DType::f32, s), x = g.input("x", DType::f32, s);
        std::vector<Value> pool{w, x};
        for (std::size_t step = 0, steps = 2 + pick(6); step < steps; ++step) {
            const Value a = pool[pick(pool.size())], b = pool[pick(pool.size())];
            switch (pick(5)) {
            case 0: pool.push_back(a * 0.5 + b); break;
            case 1: pool.push_back(relu(a) - b); break;
            case 2: pool.push_back(transpose(a) * b); break;
            case 3: pool.push_back(matmul(a, b) * 0.1); break;
            default: pool.push_back(a + transpose(b) * 0.25); break;
            }
        }
        std::vector<Value> outputs;
        for (std::size_t k = 0, n = 1 + pick(3); k < n; ++k) outputs.push_back(pool[2 + pick(pool.size() - 2)]);
        if (pick(2) == 0) outputs.push_back(pool[pick(pool.size())]);  // maybe an input itself
        const auto nodes = reachable_nodes(outputs);
        const auto reads = [&](const Value& v) { return std::find(nodes.begin(), nodes.end(), v.node()) != nodes.end(); };
        std::vector<InPlace> in_place;
        if (reads(w)) in_place.push_back({0, "w"});
        if (outputs.size() > 1 && reads(x) && pick(2) == 0) in_place.push_back({1, "x"});
        const Bindings b{{"w", Tensor::randn(DType::f32, s, 2 * seed)}, {"x", Tensor::randn(DType::f32, s, 2 * seed + 1)}};
        check_same_as_separate(outputs, in_place, b, Backend::interp);
        check_same_as_separate(outputs, in_place, b, Backend::jit);
    }
}
