// The `hand` engine: the loops of hand_kernels.cpp, one per workload.
#include "native_engine.hpp"

#include "workloads.hpp"

namespace nnjit::bench {

NativeEngine hand_engine() {
    NativeEngine engine{"hand", {}};
    for (const Workload& w : elementwise_workloads()) {
        if (w.backward) {
            engine.workloads[w.name] = [fn = w.hand_fwd_bwd](Buffers& b) -> Run {
                return [fn, x = b.x.data<float>(), gy = b.gy.data<float>(), y = b.y.data<float>(),
                        gx = b.gx.data<float>(), n = b.n] { fn(x, gy, y, gx, n); };
            };
        } else {
            engine.workloads[w.name] = [fn = w.hand_fwd](Buffers& b) -> Run {
                return [fn, x = b.x.data<float>(), y = b.y.data<float>(), n = b.n] { fn(x, y, n); };
            };
        }
    }
    return engine;
}

}  // namespace nnjit::bench
