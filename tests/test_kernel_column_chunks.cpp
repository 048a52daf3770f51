// A kernel's function may be called on any range of columns (KernelFn, jit/codegen.hpp). The
// executor calls every kernel of more than one row on whole rows; a call on part of the rows'
// columns (its scratch row, zero count and NaN correction of those columns alone) is reached
// only by calling the function directly, as here. Both must add up to the same probes.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "engine.hpp"
#include "fusion.hpp"
#include "nnjit/graph_ops.hpp"
#include "nnjit/nn.hpp"
#include "probe_data.hpp"

using namespace nnjit;

namespace {

// The buffers a layer's kernel (a = act(z + b) with its probes) combines into, after calls on
// the column ranges [cuts[i], cuts[i+1]) of all rows, as float64.
std::vector<std::vector<double>> probe_sums(const std::string& act, Tensor z, Tensor b,
                                            const std::vector<std::int64_t>& cuts) {
    Graph graph;
    const Value zv = graph.input("z", z.dtype(), z.shape());
    const Value bv = graph.input("b", b.dtype(), b.shape());
    const Value pre = zv + bv;
    const Value a = act == "relu" ? relu(pre) : sigmoid(pre);
    const nn::LayerProbes p = nn::activation_probes(pre, a);
    const jit::Plan plan = jit::fuse({a, p.active, p.zeros});
    REQUIRE(plan.kernels.size() == 1);
    const jit::FusedKernel& fk = plan.kernels.front();
    REQUIRE(fk.stored.size() == 1);
    const jit::CompiledKernel kernel = jit::Engine::instance().compile(fk.spec);
    Tensor activation = Tensor::zeros(z.dtype(), z.shape());
    std::vector<void*> args;
    for (const Node* n : fk.operand_sources) args.push_back(n->attrs().name == "z" ? z.raw_data() : b.raw_data());
    args.push_back(activation.raw_data());
    // From 0: the zero count's float64, and the active units' bytes (a max of a comparison,
    // KernelSpec::is_any), read back as 0/1.
    std::vector<std::vector<double>> sums;
    for (const Node* n : fk.reduced) sums.emplace_back(static_cast<std::size_t>(n->shape().numel()), 0.0);
    for (auto& sum : sums) args.push_back(sum.data());
    for (std::size_t i = 0; i + 1 < cuts.size(); ++i) kernel.fn(args.data(), 0, fk.spec.rows(), cuts[i], cuts[i + 1]);
    for (std::size_t i = 0; i < sums.size(); ++i) {
        if (!fk.spec.is_any(fk.spec.reductions[i])) continue;
        std::vector<double> any(sums[i].size());
        const auto* bytes = reinterpret_cast<const std::uint8_t*>(sums[i].data());
        for (std::size_t u = 0; u < any.size(); ++u) {
            REQUIRE(bytes[u] <= 1);
            any[u] = bytes[u];
        }
        sums[i] = std::move(any);
    }
    return sums;
}

}  // namespace

TEST_CASE("a kernel's probes are the same called on whole rows and on column chunks", "[diagnostics][jit]") {
    // 600 rows: three blocks of counts; 200 units: whole vectors and a partial one, cut into
    // three chunks, the second starting inside a 64-column word of sigmoid's bits (its active
    // units), the last ending with the partial vector; some units never active.
    const DType dtype = GENERATE(DType::f32, DType::f64);
    const std::string act = GENERATE("relu", "sigmoid");
    CAPTURE(dtype, act);
    const std::int64_t rows = 600, units = 200;
    Tensor z64 = test::with_quiet_columns(Tensor::randn(DType::f64, Shape{rows, units}, 21));
    // NaNs, counted neither active nor zero: in never active units of the first and the last
    // chunk, two blocks.
    for (const std::int64_t at : {5 * units + 3, 300 * units + 198, 599 * units + 72})
        z64.data<double>()[at] = std::numeric_limits<double>::quiet_NaN();
    const Tensor z = z64.to(dtype);
    const Tensor b = test::small_bias(units, dtype, 22);
    const auto whole = probe_sums(act, z, b, {0, units});
    const auto chunks = probe_sums(act, z, b, {0, 48, 128, units});
    REQUIRE(whole.size() == 2);
    std::vector<double> active(static_cast<std::size_t>(units), 0);
    double zeros = 0;
    for (std::int64_t r = 0; r < rows; ++r)
        for (std::int64_t u = 0; u < units; ++u) {
            const double x = z.flat(r * units + u) + b.flat(u);
            const double y = dtype == DType::f32 ? static_cast<double>(static_cast<float>(x)) : x;
            if (y > 0) active[static_cast<std::size_t>(u)] = 1;
            if (act == "relu") zeros += y <= 0;  // sigmoid is 0 only below about -100 (f32)
        }
    CHECK(std::count(active.begin(), active.end(), 0.0) >= units / 3);
    // The active units (per unit) and the zero count (one), whichever order fuse() gave them.
    const auto& whole_active = whole[0].size() == active.size() ? whole[0] : whole[1];
    const auto& chunks_active = chunks[0].size() == active.size() ? chunks[0] : chunks[1];
    const double whole_zeros = whole[0].size() == 1 ? whole[0][0] : whole[1][0];
    const double chunks_zeros = chunks[0].size() == 1 ? chunks[0][0] : chunks[1][0];
    CHECK(whole_active == active);
    CHECK(chunks_active == active);
    CHECK(whole_zeros == zeros);
    CHECK(chunks_zeros == zeros);
}
