// A program outside nnjit: one expression, evaluated as one loop and on the interpreter.
#include <fmt/core.h>
#include <nnjit/nnjit.hpp>

int main() {
    using namespace nnjit;
    constexpr auto x = input<"x", float, Dims<Dynamic, 3>>;
    const auto e = relu(x * 2.0f - 1.0f);
    const Tensor t = Tensor::linspace(DType::f32, -1, 1, 6).reshape(Shape{2, 3});
    const Tensor fused = eval(e, x = t);
    const Tensor interpreted = run(Backend::interp, {{"x", t}}, e)[0];
    fmt::print("consumer: {}\n", fused);
    return bitwise_equal(fused, interpreted) ? 0 : 1;
}
