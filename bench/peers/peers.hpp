// The peers nnjit is measured against, each optional: bench/CMakeLists.txt compiles a peer's
// file and defines NNJIT_BENCH_WITH_<PEER> only when configure found the library.
#pragma once

#include <vector>

#include "../native_engine.hpp"

namespace nnjit::bench {

NativeEngine eigen_engine();     // Eigen 3 array expressions
NativeEngine onednn_engine();    // oneDNN eltwise primitives
NativeEngine halide_engine();    // Halide JIT
NativeEngine libtorch_engine();  // ATen's out= kernels, as eager PyTorch runs them

// Those that were found at configure time.
std::vector<NativeEngine> peer_engines();

}  // namespace nnjit::bench
