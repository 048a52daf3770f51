#include "fp_flags.hpp"

#include <cstdlib>
#include <limits>
#include <string_view>

#include <xmmintrin.h>

namespace nnjit::jit {

bool fp_flags_work() {
    static const bool work = [] {
        // NNJIT_FP_FLAGS=off: as if they did not (the tests run the fallback this way).
        if (const char* env = std::getenv("NNJIT_FP_FLAGS"); env && std::string_view(env) == "off") return false;
        const unsigned saved = _mm_getcsr();
        _mm_setcsr(saved & ~(kMxcsrUnderflowFlag | kMxcsrInvalidFlag));
        volatile float tiny = 1e-30f, zero = 0.0f, infinity = std::numeric_limits<float>::infinity();
        volatile float underflow = tiny * tiny;  // 1e-60 rounds to 0: tiny and inexact
        volatile float invalid = zero * infinity;
        (void)underflow;
        (void)invalid;
        const unsigned raised = _mm_getcsr();
        _mm_setcsr(saved);
        return (raised & kMxcsrUnderflowFlag) && (raised & kMxcsrInvalidFlag);
    }();
    return work;
}

}  // namespace nnjit::jit
