// Engines that run a workload on caller-owned buffers rather than through an nnjit Program:
// `hand`, `et` and the optional peers (Eigen, oneDNN, Halide, libtorch). Each prepares a
// workload once per size, outside the timing (primitives created, pipelines JIT-compiled,
// buffers wrapped), and returns the call that is timed.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "nnjit/tensor.hpp"

namespace nnjit::bench {

// x (and gy for a backward workload) are read; y (and gx) are written. Contiguous f32 of n
// elements; for a forward-only workload gy and gx are default tensors (a scalar), unused.
struct Buffers {
    std::int64_t n;
    Tensor x, gy, y, gx;
};

using Run = std::function<void()>;
using Prepare = std::function<Run(Buffers&)>;

struct NativeEngine {
    std::string name;                          // the ENGINE of WORKLOAD/ENGINE/SIZE
    std::map<std::string, Prepare> workloads;  // by workload name; a workload left out is not run
};

NativeEngine hand_engine();
NativeEngine et_engine();

}  // namespace nnjit::bench
