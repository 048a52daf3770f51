// nnjit in one page: a 2-layer network written as a C++ expression, checked by the compiler,
// run on the interpreter, differentiated, and a compile-time evaluated activation.
#include <fmt/core.h>

#include "nnjit/nnjit.hpp"

int main() {
    using namespace nnjit;
    // Placeholders: a name, a dtype and Dims (Dynamic = known when a tensor is bound).
    constexpr auto x = input<"x", float, Dims<Dynamic, 4>>;
    constexpr auto W1 = parameter<"W1", float, Dims<4, 8>>;
    constexpr auto b1 = parameter<"b1", float, Dims<8>>;
    constexpr auto W2 = parameter<"W2", float, Dims<8, 2>>;

    // The network: its C++ type is the graph. matmul(x, W2) would not compile (4 != 8).
    const auto hidden = relu(matmul(x, W1) + b1);
    const auto logits = matmul(hidden, W2);

    const Bindings data{{"x", Tensor::randn(DType::f32, Shape{3, 4}, 1)},
                        {"W1", Tensor::randn(DType::f32, Shape{4, 8}, 2)},
                        {"b1", Tensor::zeros(DType::f32, Shape{8})},
                        {"W2", Tensor::randn(DType::f32, Shape{8, 2}, 3)}};

    // Into the graph IR, with the gradient of the summed output w.r.t. W1 (graph autodiff).
    Graph g;
    const Value out = to_graph(logits, g, data);
    const Value dW1 = grad(sum(out), to_graph(W1, g, data));
    const auto results = compile({out, dW1}, Backend::interp)->run(data);
    fmt::print("logits = {}\ndsum/dW1 = {}\n", results[0], results[1]);

    // Elementwise expressions also run as one fused C++ loop, and differentiate at compile time.
    const auto act = sigmoid(x) * x;  // silu, written out
    fmt::print("silu(x)  = {}\nsilu'(x) = {}\n", eval(act, data), eval(d(act, x), data));
}
