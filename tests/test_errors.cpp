// Every user error's message: it is a UserError (not an internal error, not a crash) and it
// names the op and what was wrong (both shapes, the axis, the placeholder, the file).
#include <catch2/catch.hpp>

#include <cstring>

#include "nnjit/autodiff.hpp"
#include "nnjit/engine.hpp"
#include "nnjit/graph_ops.hpp"
#include "nnjit/interpreter.hpp"
#include "nnjit/npy.hpp"

using namespace nnjit;
using Catch::Matchers::Contains;

// Checks both the exception type and its message (the expression is evaluated twice: every
// use below only builds graph nodes or reads, so that is harmless).
#define CHECK_USER_ERROR(expr, matcher)      \
    do {                                     \
        CHECK_THROWS_AS(expr, UserError);    \
        CHECK_THROWS_WITH(expr, matcher);    \
    } while (false)

TEST_CASE("errors: each binary op names itself and both shapes on a mismatch", "[error]") {
    Graph g;
    const Value a = g.input("a", DType::f32, Shape{2, 3});
    const Value b = g.input("b", DType::f32, Shape{4});
    const std::vector<std::pair<std::string, std::function<Value(Value, Value)>>> ops = {
        {"add", [](Value x, Value y) { return x + y; }},
        {"sub", [](Value x, Value y) { return x - y; }},
        {"mul", [](Value x, Value y) { return x * y; }},
        {"div", [](Value x, Value y) { return x / y; }},
        {"maximum", [](Value x, Value y) { return maximum(x, y); }},
        {"minimum", [](Value x, Value y) { return minimum(x, y); }},
        {"prelu", [](Value x, Value y) { return prelu(x, y); }},
        {"greater", [](Value x, Value y) { return greater(x, y); }},
        {"equal", [](Value x, Value y) { return equal(x, y); }},
    };
    for (const auto& [name, f] : ops) {
        INFO(name);
        CHECK_USER_ERROR(f(a, b), Contains(name + ": shapes (2, 3) and (4,) cannot be broadcast together"));
        CHECK_USER_ERROR(f(b, a), Contains(name + ": shapes (4,) and (2, 3) cannot be broadcast together"));
    }
    const Value c = g.input("c", DType::f32, Shape{3});
    CHECK_USER_ERROR(where(c, a, b), Contains("where: shapes (3,) and (2, 3) and (4,) cannot be broadcast together"));
    // Broadcasting that is valid does not throw.
    CHECK((a + c).shape() == Shape{2, 3});
}

TEST_CASE("errors: matmul, reshape, broadcast_to, transpose", "[error]") {
    Graph g;
    const Value a = g.input("a", DType::f32, Shape{2, 3});
    const Value b = g.input("b", DType::f32, Shape{4, 5});
    const Value v = g.input("v", DType::f32, Shape{3});
    CHECK_USER_ERROR(matmul(a, b), Contains("matmul: inner dimensions differ: shapes (2, 3) and (4, 5)"));
    CHECK_USER_ERROR(matmul(a, v), Contains("matmul: operands must be 2-D, got shapes (2, 3) and (3,)"));
    CHECK_USER_ERROR(reshape(a, Shape{4}), Contains("reshape: cannot reshape (2, 3) (6 elements) to (4,) (4 elements)"));
    CHECK_USER_ERROR(broadcast_to(a, Shape{3, 3}), Contains("broadcast_to: shape (2, 3) cannot be broadcast to (3, 3)"));
    CHECK_USER_ERROR(broadcast_to(a, Shape{3}), Contains("broadcast_to: shape (2, 3) cannot be broadcast to (3,)"));
    CHECK_USER_ERROR(transpose(a, {0, 0}), Contains("transpose: (0, 0) is not a permutation of the axes of shape (2, 3)"));
    CHECK_USER_ERROR(transpose(a, {0, 1, 2}), Contains("transpose: permutation (0, 1, 2) does not fit shape (2, 3)"));
    CHECK_USER_ERROR(transpose(a, {0, 5}), Contains("is not a permutation of the axes of shape (2, 3)"));
}

TEST_CASE("errors: bad axes name the op, the axis and the shape", "[error]") {
    Graph g;
    const Value a = g.input("a", DType::f32, Shape{2, 3});
    CHECK_USER_ERROR(sum(a, 2), Contains("sum: axis 2 is out of range for shape (2, 3)"));
    CHECK_USER_ERROR(sum(a, -3), Contains("sum: axis -3 is out of range for shape (2, 3)"));
    CHECK_USER_ERROR(mean(a, 7, true), Contains("mean: axis 7 is out of range for shape (2, 3)"));
    CHECK_USER_ERROR(sum(a, std::vector<std::int64_t>{0, -2}), Contains("sum: axes (0, 0) repeat an axis"));
    CHECK_USER_ERROR(softmax(a, 2), Contains("softmax: axis 2 is out of range for shape (2, 3)"));
    CHECK_USER_ERROR(log_softmax(a, -5), Contains("log_softmax: axis -5 is out of range for shape (2, 3)"));
    const Value s = g.input("s", DType::f32, Shape{});
    CHECK_USER_ERROR(softmax(s), Contains("softmax: axis -1 is out of range for shape ()"));
    CHECK_USER_ERROR(max(a, 2), Contains("max: axis 2 is out of range for shape (2, 3)"));
    const Value empty = g.input("e", DType::f32, Shape{4, 0});
    CHECK_USER_ERROR(max(empty), Contains("max: axis 1 of shape (4, 0) is empty: no element to take the max of"));
    CHECK_USER_ERROR(min(empty, 1), Contains("min: axis 1 of shape (4, 0) is empty"));
    CHECK(max(empty, 0).shape() == Shape{0});  // nothing to take: no element is missing one
    // Negative axes that are in range are fine.
    CHECK(sum(a, -1).shape() == Shape{2});
}

TEST_CASE("errors: losses name both shapes", "[error]") {
    Graph g;
    const Value y = g.input("y", DType::f32, Shape{4, 3});
    const Value t = g.input("t", DType::f32, Shape{4});
    CHECK_USER_ERROR(mse(y, t), Contains("mse: prediction and target shapes differ: (4, 3) and (4,)"));
    CHECK_USER_ERROR(cross_entropy(y, t), Contains("cross_entropy: logits and target must be 2-D of the same shape, got (4, 3) and (4,)"));
}

TEST_CASE("errors: binding inputs at run time", "[error]") {
    Graph g;
    const Value x = g.input("x", DType::f32, Shape{2, 3});
    const Value w = g.parameter("w", DType::f32, Shape{3});
    const Interpreter program({x * w});
    const Tensor good_x = Tensor::zeros(DType::f32, Shape{2, 3});
    const Tensor good_w = Tensor::zeros(DType::f32, Shape{3});
    CHECK_NOTHROW(program.run({{"x", good_x}, {"w", good_w}}));
    CHECK_USER_ERROR(program.run({{"x", good_x}}), Contains("no tensor is bound to parameter 'w'"));
    CHECK_USER_ERROR(program.run({{"w", good_w}}), Contains("no tensor is bound to input 'x'"));
    CHECK_USER_ERROR(program.run({{"x", good_x.to(DType::f64)}, {"w", good_w}}),
                     Contains("input 'x' expects float32 (2, 3), got float64 (2, 3)"));
    CHECK_USER_ERROR(program.run({{"x", Tensor::zeros(DType::f32, Shape{3, 2})}, {"w", good_w}}),
                     Contains("input 'x' expects float32 (2, 3), got float32 (3, 2)"));
    CHECK_USER_ERROR(program.run({{"x", good_x}, {"w", Tensor::zeros(DType::f32, Shape{1, 3})}}),
                     Contains("parameter 'w' expects float32 (3,), got float32 (1, 3)"));
    // Through the engine API too.
    const auto compiled = compile({x * w}, Backend::interp);
    CHECK_USER_ERROR(compiled->run({}), Contains("no tensor is bound to input 'x'"));
    // run_into with outputs of the wrong kind.
    std::vector<Tensor> outs = {Tensor::zeros(DType::f32, Shape{3, 2})};
    CHECK_USER_ERROR(program.run_into({{"x", good_x}, {"w", good_w}}, outs),
                     Contains("run_into: output 0 must be a contiguous float32 (2, 3), got float32 (3, 2)"));
    std::vector<Tensor> two = {good_x.clone(), good_x.clone()};
    CHECK_USER_ERROR(program.run_into({{"x", good_x}, {"w", good_w}}, two),
                     Contains("run_into: 2 output tensors given, the program has 1"));
    CHECK_USER_ERROR(compile({}, Backend::interp), Contains("compile: no outputs given"));
}

TEST_CASE("errors: placeholders redeclared differently", "[error]") {
    Graph g;
    const Value x = g.input("x", DType::f32, Shape{2, 3});
    CHECK(g.input("x", DType::f32, Shape{2, 3}) == x);  // the same declaration is the same node
    CHECK_USER_ERROR(g.input("x", DType::f32, Shape{3}),
                     Contains("input 'x' was declared as input float32 (2, 3) and is now asked for as input float32 (3,)"));
    CHECK_USER_ERROR(g.input("x", DType::f64, Shape{2, 3}),
                     Contains("was declared as input float32 (2, 3) and is now asked for as input float64 (2, 3)"));
    CHECK_USER_ERROR(g.parameter("x", DType::f32, Shape{2, 3}),
                     Contains("is now asked for as parameter float32 (2, 3)"));
    CHECK_USER_ERROR(g.input("", DType::f32, Shape{2}), Contains("input: a name is required"));
}

TEST_CASE("errors: values from different graphs", "[error]") {
    Graph g1, g2;
    const Value a = g1.input("a", DType::f32, Shape{2});
    const Value b = g2.input("b", DType::f32, Shape{2});
    CHECK_USER_ERROR(a + b, Contains("add: operands belong to different graphs"));
    CHECK_USER_ERROR(matmul(g1.input("m", DType::f32, Shape{2, 2}), g2.input("n", DType::f32, Shape{2, 2})),
                     Contains("matmul: operands belong to different graphs"));
    CHECK_USER_ERROR(where(a, a, b), Contains("where: operands belong to different graphs"));
    CHECK_USER_ERROR(grad(sum(a), b), Contains("grad: a variable does not belong to the output's graph"));
    CHECK_USER_ERROR(Interpreter({a, b}), Contains("outputs come from different graphs"));
    CHECK_USER_ERROR(format_graph(std::vector<Value>{a, b}), Contains("outputs come from different graphs"));
    // Empty values.
    CHECK_USER_ERROR(relu(Value()), Contains("relu: an operand is an empty Value"));
    CHECK_USER_ERROR(a + Value(), Contains("add: an operand is an empty Value"));
    CHECK_USER_ERROR(grad(Value(), a), Contains("grad: the output is an empty Value"));
}

TEST_CASE("errors: grad's seed must match the output", "[error]") {
    Graph g;
    const Value x = g.input("x", DType::f32, Shape{2, 3});
    const Value y = relu(x);
    CHECK_USER_ERROR(grad(y, x, g.input("s", DType::f32, Shape{3})),
                     Contains("grad: seed has shape (3,), the output has shape (2, 3)"));
}

TEST_CASE("errors: .npy files name the file and what was found", "[error][npy]") {
    const std::string dict = "{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }";
    std::string file = std::string("\x93NUMPY\x01", 7) + '\0' + static_cast<char>(dict.size()) + '\0' + dict +
                       std::string(8, '\0');
    std::vector<std::byte> bytes(file.size());
    std::memcpy(bytes.data(), file.data(), file.size());
    CHECK_USER_ERROR(parse_npy(bytes, "x.npy"),
                     Contains("x.npy: dtype '<i4' is not supported (float32 '<f4' or float64 '<f8' only)"));
    bytes[0] = std::byte{'!'};
    CHECK_USER_ERROR(parse_npy(bytes, "x.npy"), Contains("x.npy: not a .npy file"));
    CHECK_USER_ERROR(read_npy("/nonexistent-dir/y.npy"), Contains("/nonexistent-dir/y.npy: cannot open for reading"));
}

TEST_CASE("errors: the JIT checks bindings and outputs as the interpreter does", "[error][jit]") {
    Graph g;
    const Value x = g.input("x", DType::f32, Shape{2, 3});
    const Value w = g.parameter("w", DType::f32, Shape{3});
    const auto program = compile({x * w, sum(x)}, Backend::jit);
    const Tensor good_x = Tensor::zeros(DType::f32, Shape{2, 3});
    const Tensor good_w = Tensor::zeros(DType::f32, Shape{3});
    CHECK_NOTHROW(program->run({{"x", good_x}, {"w", good_w}}));
    CHECK_USER_ERROR(program->run({{"x", good_x}}), Contains("no tensor is bound to parameter 'w'"));
    CHECK_USER_ERROR(program->run({{"x", good_x.to(DType::f64)}, {"w", good_w}}),
                     Contains("input 'x' expects float32 (2, 3), got float64 (2, 3)"));
    CHECK_USER_ERROR(program->run({{"x", Tensor::zeros(DType::f32, Shape{0, 3})}, {"w", good_w}}),
                     Contains("input 'x' expects float32 (2, 3), got float32 (0, 3)"));
    std::vector<Tensor> outs = {Tensor::zeros(DType::f64, Shape{2, 3}), Tensor::zeros(DType::f32, Shape{})};
    CHECK_USER_ERROR(program->run_into({{"x", good_x}, {"w", good_w}}, outs),
                     Contains("run_into: output 0 must be a contiguous float32 (2, 3), got float64 (2, 3)"));
    std::vector<Tensor> one = {Tensor::zeros(DType::f32, Shape{2, 3})};
    CHECK_USER_ERROR(program->run_into({{"x", good_x}, {"w", good_w}}, one),
                     Contains("run_into: 1 output tensors given, the program has 2"));
}

TEST_CASE("errors: absurd sizes are a UserError naming the size, never an abort", "[error][interp][jit]") {
    // Allocation failure must surface as a UserError, not std::bad_alloc or a crash. (CI runs
    // this under AddressSanitizer with allocator_may_return_null=1, which is how the plain
    // allocator behaves.) The sizes are beyond any x86-64 address space (2^48 float32 is
    // 1 PiB), so they fail even where the kernel overcommits memory.
    CHECK_USER_ERROR(Tensor::empty(DType::f32, Shape{1LL << 48}), Contains("cannot allocate"));
    CHECK_USER_ERROR(Tensor::zeros(DType::f64, Shape{1LL << 24, 1LL << 24}), Contains("cannot allocate"));
    // Small inputs, valid graphs, results too large to allocate when they run.
    Graph g;
    const Value p = g.input("p", DType::f32, Shape{1, 1});
    const Value c = g.input("c", DType::f32, Shape{4});
    const Bindings bind{{"p", Tensor::zeros(DType::f32, p.shape())}, {"c", Tensor::zeros(DType::f32, c.shape())}};
    const Shape huge{1LL << 24, 1LL << 24};
    const std::vector<std::pair<std::string, Value>> cases = {
        {"elementwise", relu(broadcast_to(p, huge) + 1.0)},
        {"matmul", matmul(broadcast_to(p, Shape{1LL << 24, 1}), broadcast_to(p, Shape{1, 1LL << 24}))},
        // A reduction's output (and the JIT's per-chunk partial sums) too large.
        {"sum", sum(broadcast_to(c, Shape{1LL << 46, 4}), 1)},
    };
    for (Backend backend : {Backend::interp, Backend::jit}) {
        for (const auto& [what, value] : cases) {
            INFO(backend_name(backend) << " " << what);
            CHECK_USER_ERROR(compile({value}, backend)->run(bind), Contains("cannot allocate"));
        }
    }
}
