// The graph IR (hash-consing, topological ids, the printer) and the interpreter's handling of
// memory: temporaries freed after their last use, outputs that never alias the caller's tensors.
#include <catch2/catch.hpp>

#include <sys/resource.h>

#include "nnjit/autodiff.hpp"
#include "nnjit/graph_ops.hpp"
#include "nnjit/interpreter.hpp"

using namespace nnjit;

namespace {
long peak_rss_kib() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_maxrss;
}
}  // namespace

// First in the file: ctest runs each test case in its own process, so the peak measured here
// is this case's own.
TEST_CASE("interpreter: temporaries are freed after their last use", "[interp][graph]") {
    constexpr std::int64_t n = 1536 * 1024;  // 6 MiB of float32 per temporary
    constexpr int chain = 48;                // 288 MiB if no temporary were ever freed
    Graph g;
    const Value x = g.input("x", DType::f32, Shape{n});
    Value y = x;
    for (int i = 0; i < chain; ++i) y = tanh(y);
    const Interpreter program({y});
    const Tensor input = Tensor::full(DType::f32, Shape{n}, 0.5);
    const long before = peak_rss_kib();
    const Tensor out = program.run({{"x", input}})[0];
    const long grown_mib = (peak_rss_kib() - before) / 1024;
    INFO("peak RSS grew by " << grown_mib << " MiB");
    // Freed temporaries: the output and about two live temporaries (~18 MiB). Allow 16
    // buffers' worth (96 MiB) for the allocator's slack; never freeing would need 288 MiB.
    CHECK(grown_mib < 96);
    CHECK(out.flat(n - 1) > 0);  // tanh^48(0.5) is positive
    // The interpreter keeps no reference to what it returned or was given.
    CHECK(out.storage().use_count() == 1);
    CHECK(input.storage().use_count() == 1);
}

TEST_CASE("graph: hash-consing makes the same op on the same inputs one node", "[graph]") {
    Graph g;
    const Value x = g.input("x", DType::f32, Shape{2, 3});
    const Value y = g.input("y", DType::f32, Shape{2, 3});
    const Value a = relu(x) + y;
    const int size = g.size();
    CHECK(relu(x) + y == a);
    CHECK(g.size() == size);  // nothing new was made
    CHECK(x * y == x * y);
    CHECK(sum(x, 1) == sum(x, 1));
    CHECK(g.constant(2.0) == g.constant(2.0));
    const Tensor lit = Tensor::from<float>(Shape{2}, {1, 2});
    CHECK(g.literal(lit) == g.literal(lit.clone()));  // equal contents, different storage
    // Anything that differs gives a different node.
    CHECK(x * y != y * x);  // operand order matters (no canonicalisation)
    CHECK(relu(x) != relu(y));
    CHECK(leaky_relu(x, 0.1) != leaky_relu(x, 0.2));
    CHECK(sum(x, 0) != sum(x, 1));
    CHECK(sum(x, 1) != sum(x, 1, true));
    CHECK(sum(x) != mean(x));
    CHECK(g.constant(2.0) != g.constant(2.0, DType::f64));
    CHECK(g.constant(0.0) != g.constant(-0.0));  // distinct values, distinct bits
    CHECK(g.literal(lit) != g.literal(Tensor::from<float>(Shape{2}, {1, 3})));
    CHECK(g.literal(lit) != g.literal(lit.to(DType::f64)));
}

TEST_CASE("graph: node ids are a topological order, reachable_nodes keeps only what is used", "[graph]") {
    Graph g;
    const Value x = g.input("x", DType::f64, Shape{3});
    const Value unused = exp(x);
    const Value y = sigmoid(x) * x;
    const Value gx = grad(sum(y), x);
    for (int id = 0; id < g.size(); ++id) {
        const Node* n = g.node(id);
        CHECK(n->id() == id);
        for (const Node* in : n->inputs()) CHECK(in->id() < id);
    }
    const auto order = reachable_nodes(std::vector<Value>{y});
    CHECK(std::find(order.begin(), order.end(), unused.node()) == order.end());
    CHECK(order.back() == y.node());
    CHECK(std::is_sorted(order.begin(), order.end(), [](const Node* a, const Node* b) { return a->id() < b->id(); }));
    CHECK(g.placeholders() == std::vector<const Node*>{x.node()});
    CHECK(g.find_placeholder("x") == x.node());
    CHECK(g.find_placeholder("nope") == nullptr);
    CHECK(gx.shape() == Shape{3});
}

TEST_CASE("graph: the printer shows one node a line and marks the outputs", "[graph][format]") {
    Graph g;
    const Value x = g.input("x", DType::f32, Shape{2, 3});
    const Value w = g.parameter("w", DType::f32, Shape{3});
    const Value y = relu(x) * w + 1.0;
    const Value s = sum(y, 1, true);
    // The format documented in graph.hpp: `%3 = add %1, %2 : float32 (2, 3)`, `-> outN`.
    CHECK(format_graph(std::vector<Value>{y, s}) ==
          "%0 = input \"x\" : float32 (2, 3)\n"
          "%1 = parameter \"w\" : float32 (3,)\n"
          "%2 = relu %0 : float32 (2, 3)\n"
          "%3 = broadcast_to %1 : float32 (2, 3)\n"
          "%4 = mul %2, %3 : float32 (2, 3)\n"
          "%5 = constant 1 : float32 ()\n"
          "%6 = broadcast_to %5 : float32 (2, 3)\n"
          "%7 = add %4, %6 : float32 (2, 3)  -> out0\n"
          "%8 = sum %7, axes=(1), keepdims : float32 (2, 1)  -> out1\n");
    // Attributes of the other ops.
    CHECK(format_node(*leaky_relu(x, 0.5).node()) == fmt::format("%{} = leaky_relu %0, alpha=0.5 : float32 (2, 3)",
                                                                   leaky_relu(x, 0.5).node()->id()));
    const Value t = transpose(x);
    CHECK(format_node(*t.node()) == fmt::format("%{} = transpose %0, perm=(1, 0) : float32 (3, 2)", t.node()->id()));
    const Value sm = log_softmax(x, 0);
    CHECK(format_node(*sm.node()) == fmt::format("%{} = log_softmax %0, axis=0 : float32 (2, 3)", sm.node()->id()));
    const Value m = mean(cast(x, DType::f64));
    CHECK(format_node(*m.node()) ==
          fmt::format("%{} = mean %{}, axes=(0, 1) : float64 ()", m.node()->id(), m.node()->input(0)->id()));
    // A node listed as two outputs is marked twice.
    CHECK_THAT(format_graph(std::vector<Value>{y, y}), Catch::Matchers::Contains("-> out0  -> out1"));
}

TEST_CASE("interpreter: outputs never alias the caller's tensors", "[interp][graph]") {
    for (DType dtype : {DType::f32, DType::f64}) {
        INFO(dtype_name(dtype));
        Graph g;
        const Value x = g.input("x", dtype, Shape{2, 3});
        const Tensor lit = Tensor::arange(dtype, 3);
        const Value l = g.literal(lit);
        // Outputs that an interpreter could return as views of x or of the literal.
        const std::vector<Value> outs = {x, reshape(x, Shape{3, 2}), transpose(x), broadcast_to(l, Shape{2, 3}), l,
                                         cast(x, dtype), relu(x)};
        const Interpreter program(outs);
        const Tensor input = Tensor::randn(dtype, Shape{2, 3}, 3);
        const Tensor saved = input.clone();
        auto results = program.run({{"x", input}});
        REQUIRE(results.size() == outs.size());
        for (std::size_t i = 0; i < results.size(); ++i) {
            INFO("output " << i);
            CHECK_FALSE(results[i].shares_storage_with(input));
            CHECK_FALSE(results[i].shares_storage_with(lit));
            CHECK(results[i].is_contiguous());
        }
        // Writing into the outputs leaves the input and the graph's literal untouched.
        for (auto& r : results) {
            if (dtype == DType::f32) std::fill_n(r.data<float>(), r.numel(), 99.0f);
            else std::fill_n(r.data<double>(), r.numel(), 99.0);
        }
        CHECK(bitwise_equal(input, saved));
        CHECK(program.run({{"x", input}})[4].to_doubles() == std::vector<double>{0, 1, 2});
    }
}

TEST_CASE("interpreter: a later run never overwrites an earlier run's outputs", "[interp][graph]") {
    // The interpreter recycles temporaries' storage between runs; what it returned must not be
    // among them.
    Graph g;
    const Value x = g.input("x", DType::f32, Shape{64});
    const Value y = exp(tanh(x) * 2.0) - sigmoid(x);
    const Value z = sum(y * y);
    const Interpreter program({y, z});
    const Tensor a = Tensor::randn(DType::f32, Shape{64}, 1);
    const Tensor b = Tensor::randn(DType::f32, Shape{64}, 2);
    const auto first = program.run({{"x", a}});
    const auto first_copy = std::vector<Tensor>{first[0].clone(), first[1].clone()};
    for (int i = 0; i < 3; ++i) program.run({{"x", b}});
    CHECK(bitwise_equal(first[0], first_copy[0]));
    CHECK(bitwise_equal(first[1], first_copy[1]));
    // And the same inputs give the same bits every time.
    const auto again = program.run({{"x", a}});
    CHECK(bitwise_equal(again[0], first[0]));
    CHECK(bitwise_equal(again[1], first[1]));
}

TEST_CASE("interpreter: caller tensors of any layout are read correctly", "[interp][graph]") {
    Graph g;
    const Value x = g.input("x", DType::f64, Shape{3, 2});
    const Value y = x * 10.0 + 1.0;
    const Tensor base = Tensor::arange(DType::f64, 6).reshape(Shape{2, 3});
    const Tensor view = base.transpose();  // [[0, 3], [1, 4], [2, 5]]
    CHECK(Interpreter({y}).run({{"x", view}})[0].to_doubles() == std::vector<double>{1, 31, 11, 41, 21, 51});
    const Tensor bcast = Tensor::from<double>(Shape{2}, {7, 8}).broadcast_to(Shape{3, 2});
    CHECK(Interpreter({y}).run({{"x", bcast}})[0].to_doubles() == std::vector<double>{71, 81, 71, 81, 71, 81});
}
