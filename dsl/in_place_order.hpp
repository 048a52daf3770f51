// Ordering the steps of a run so that outputs can be written over the inputs they replace
// (InPlace): shared by the interpreter (its steps are nodes) and the JIT executor (its steps
// are kernels and BLAS calls). The writer of such an output must run after every other step
// that reads the input; where that would make a cycle (a step reading the input also needs,
// directly or not, the writer's result), that write is not done in place.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

namespace nnjit::detail {

struct InPlaceWrite {
    std::size_t writer = 0;             // the step computing the output
    std::vector<std::size_t> readers;   // the other steps reading the input it replaces
};

struct InPlaceOrder {
    std::vector<std::size_t> order;  // every step once, each after those it follows
    std::vector<bool> in_place;      // per write: whether its readers could all go first
};

// `after[j]`: the steps step j reads the results of (its dependencies). Writes are taken one
// by one, each kept only when the order stays possible with it. Among the orders possible, the
// one closest to the given order (0, 1, ...): the earliest step whose dependencies have run
// goes next.
InPlaceOrder order_in_place_writes(const std::vector<std::vector<std::size_t>>& after,
                                   std::span<const InPlaceWrite> writes);

}  // namespace nnjit::detail
