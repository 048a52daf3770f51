// A first look at nnjit: build y = sigmoid(a*x + b) * relu(x), take its gradient, run both
// on the reference interpreter and print them.
#include <fmt/core.h>

#include "nnjit/autodiff.hpp"
#include "nnjit/graph_ops.hpp"
#include "nnjit/interpreter.hpp"

int main() {
    using namespace nnjit;
    Graph g;
    Value x = g.input("x", DType::f32, Shape{2, 4});
    Value y = sigmoid(2.0 * x + 0.5) * relu(x);
    Value gx = grad(y, x);

    fmt::print("graph:\n{}\n", format_graph(std::vector{y, gx}));
    Interpreter program({y, gx});
    const auto out = program.run({{"x", Tensor::linspace(DType::f32, -2, 2, 8).reshape(Shape{2, 4})}});
    fmt::print("y  = {}\ngx = {}\n", out[0], out[1]);
}
