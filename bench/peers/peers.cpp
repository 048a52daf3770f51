#include "peers.hpp"

namespace nnjit::bench {

std::vector<NativeEngine> peer_engines() {
    std::vector<NativeEngine> peers;
#ifdef NNJIT_BENCH_WITH_EIGEN
    peers.push_back(eigen_engine());
#endif
#ifdef NNJIT_BENCH_WITH_ONEDNN
    peers.push_back(onednn_engine());
#endif
#ifdef NNJIT_BENCH_WITH_HALIDE
    peers.push_back(halide_engine());
#endif
#ifdef NNJIT_BENCH_WITH_LIBTORCH
    peers.push_back(libtorch_engine());
#endif
    return peers;
}

}  // namespace nnjit::bench
