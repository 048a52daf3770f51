// expect: sum/mean/max/min: axis out of range
// Compiled twice by tests/compile_fail: as written it must compile; with NNJIT_COMPILE_FAIL
// defined it must fail with the message above.
#include "nnjit/expr/expr.hpp"

using namespace nnjit;

constexpr auto x = input<"x", float, Dims<Dynamic, 4>>;

void snippet() {
#ifdef NNJIT_COMPILE_FAIL
    [[maybe_unused]] auto s = sum<2>(x);
#else
    [[maybe_unused]] auto s = sum<-2>(x);
#endif
}
