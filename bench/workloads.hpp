// The elementwise workloads every engine runs, by name: how to build each as a graph and
// which hand-written loop computes the same thing.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "nnjit/graph.hpp"

namespace nnjit::bench {

struct Workload {
    std::string name;      // e.g. "chain_fwd_bwd"
    bool backward;         // also computes gx = gy * dy/dx
    std::function<Value(Value)> forward;  // y = f(x)
    void (*hand_fwd)(const float* x, float* y, std::int64_t n);
    void (*hand_fwd_bwd)(const float* x, const float* gy, float* y, float* gx, std::int64_t n);

    // The minimum a fused kernel must move per element: x in, y out (+ gy in, gx out).
    std::int64_t bytes_per_element() const { return backward ? 16 : 8; }
};

const std::vector<Workload>& elementwise_workloads();

inline const std::vector<std::int64_t> kSizes = {4096, 65536, 1048576, 16777216};

}  // namespace nnjit::bench
