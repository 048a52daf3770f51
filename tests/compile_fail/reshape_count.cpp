// expect: reshape: the element counts differ
// Compiled twice by tests/compile_fail: as written it must compile; with NNJIT_COMPILE_FAIL
// defined it must fail with the message above.
#include "nnjit/expr/expr.hpp"

using namespace nnjit;

constexpr auto x = input<"x", float, Dims<Dynamic, 4>>;

void snippet() {
    constexpr auto w = parameter<"w", float, Dims<3, 4>>;
#ifdef NNJIT_COMPILE_FAIL
    [[maybe_unused]] auto r = reshape<Dims<5, 2>>(w);
#else
    [[maybe_unused]] auto r = reshape<Dims<6, 2>>(w);
#endif
}
