#include "in_place_order.hpp"

#include <functional>
#include <optional>
#include <queue>

namespace nnjit::detail {
namespace {

// Kahn's algorithm, the smallest ready step first; nothing when there is a cycle.
std::optional<std::vector<std::size_t>> order_of(const std::vector<std::vector<std::size_t>>& after) {
    const std::size_t n = after.size();
    std::vector<std::size_t> waiting(n, 0);
    std::vector<std::vector<std::size_t>> before(n);  // before[i]: the steps waiting for i
    for (std::size_t j = 0; j < n; ++j)
        for (std::size_t i : after[j]) {
            ++waiting[j];
            before[i].push_back(j);
        }
    std::priority_queue<std::size_t, std::vector<std::size_t>, std::greater<>> ready;
    for (std::size_t j = 0; j < n; ++j)
        if (waiting[j] == 0) ready.push(j);
    std::vector<std::size_t> order;
    order.reserve(n);
    while (!ready.empty()) {
        const std::size_t i = ready.top();
        ready.pop();
        order.push_back(i);
        for (std::size_t j : before[i])
            if (--waiting[j] == 0) ready.push(j);
    }
    if (order.size() != n) return std::nullopt;
    return order;
}

}  // namespace

InPlaceOrder order_in_place_writes(const std::vector<std::vector<std::size_t>>& after,
                                   std::span<const InPlaceWrite> writes) {
    std::vector<std::vector<std::size_t>> edges = after;
    InPlaceOrder result;
    for (const InPlaceWrite& w : writes) {
        const std::size_t had = edges[w.writer].size();
        for (std::size_t r : w.readers)
            if (r != w.writer) edges[w.writer].push_back(r);
        const bool possible = order_of(edges).has_value();
        if (!possible) edges[w.writer].resize(had);
        result.in_place.push_back(possible);
    }
    result.order = *order_of(edges);  // the given dependencies alone have an order
    return result;
}

}  // namespace nnjit::detail
