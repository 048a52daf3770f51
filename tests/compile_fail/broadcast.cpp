// expect: shapes cannot be broadcast together
// Compiled twice by tests/compile_fail: as written it must compile; with NNJIT_COMPILE_FAIL
// defined it must fail with the message above.
#include "nnjit/expr/expr.hpp"

using namespace nnjit;

constexpr auto x = input<"x", float, Dims<Dynamic, 4>>;

void snippet() {
#ifdef NNJIT_COMPILE_FAIL
    [[maybe_unused]] auto e = relu(x) + input<"b", float, Dims<5>>;
#else
    [[maybe_unused]] auto e = relu(x) + input<"b", float, Dims<1>>;
#endif
}
