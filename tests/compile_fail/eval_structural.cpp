// expect: eval/d: only elementwise expressions
// Compiled twice by tests/compile_fail: as written it must compile; with NNJIT_COMPILE_FAIL
// defined it must fail with the message above.
#include "nnjit/expr/expr.hpp"

using namespace nnjit;

constexpr auto x = input<"x", float, Dims<Dynamic, 4>>;

void snippet() {
    const Tensor t = Tensor::zeros(DType::f32, Shape{2, 4});
#ifdef NNJIT_COMPILE_FAIL
    [[maybe_unused]] Tensor y = eval(sum<1>(x) * 2.0f, x = t);
#else
    [[maybe_unused]] Tensor y = eval(x * 2.0f, x = t);
#endif
}
