// expect: d: only elementwise expressions have a compile-time derivative
// Compiled twice by tests/compile_fail: as written it must compile; with NNJIT_COMPILE_FAIL
// defined it must fail with the message above.
#include "nnjit/expr/expr.hpp"

using namespace nnjit;

constexpr auto x = input<"x", float, Dims<Dynamic, 4>>;

void snippet() {
#ifdef NNJIT_COMPILE_FAIL
    [[maybe_unused]] auto g = d(softmax(x), x);
#else
    [[maybe_unused]] auto g = d(sigmoid(x), x);
#endif
}
