// Activation diagnostics (nn/diagnostics.hpp): on a constructed network whose dead units,
// zero activations and weight gradient are known in advance, both engines report them
// exactly; dead units are counted over an epoch; the JIT computes the probes inside the
// kernel of the activation (no extra kernel), exactly the interpreter's whatever the shape,
// the values and the thread count.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <string>

#include <omp.h>
#include <xmmintrin.h>

#include "fp_flags.hpp"
#include "nnjit/autodiff.hpp"
#include "nnjit/engine.hpp"
#include "nnjit/error.hpp"
#include "nnjit/graph_ops.hpp"
#include "nnjit/nn.hpp"
#include "probe_data.hpp"

using namespace nnjit;
using nnjit::test::small_bias;
using nnjit::test::with_quiet_columns;

namespace {

constexpr std::int64_t kIn = 4, kUnits = 6, kOut = 3;

// Hidden ReLU layer of 6 units: units 0 and 1 have zero weights and bias -1 (input -1 on every
// sample: dead); units 2 and 3 zero weights and bias +1 (always active); units 4 and 5 copy
// input feature 0 (active exactly on the samples with x0 > 0).
nn::Parameters constructed_parameters() {
    nn::Parameters p;
    Tensor w1 = Tensor::zeros(DType::f64, Shape{kIn, kUnits});
    w1.data<double>()[0 * kUnits + 4] = 1;
    w1.data<double>()[0 * kUnits + 5] = 1;
    p.add("hidden.weight", w1);
    p.add("hidden.bias", Tensor::from<double>(Shape{kUnits}, {-1, -1, 1, 1, 0, 0}));
    p.add("out.weight", Tensor::full(DType::f64, Shape{kUnits, kOut}, 0.5));
    p.add("out.bias", Tensor::zeros(DType::f64, Shape{kOut}));
    return p;
}

nn::Sequential constructed_network() {
    nn::Sequential net;
    net.add(nn::Dense{"hidden", kIn, kUnits, nn::Activation::relu()});
    net.add(nn::Dense{"out", kUnits, kOut, nn::Activation::identity()});
    return net;
}

// n samples, feature 0 positive on exactly the rows listed, the other features random.
Tensor samples(std::int64_t n, const std::vector<std::int64_t>& positive_rows, DType dtype) {
    Tensor x = Tensor::randn(DType::f64, Shape{n, kIn}, 7);
    double* p = x.data<double>();
    for (std::int64_t r = 0; r < n; ++r) p[r * kIn] = -1.0 - std::abs(p[r * kIn]);
    for (std::int64_t r : positive_rows) p[r * kIn] = 0.5 + static_cast<double>(r);
    return x.to(dtype);
}

// |dL/dW| of the hidden layer computed apart from the trainer, in float64 by the interpreter.
double reference_grad_norm(const Tensor& x, const Tensor& target) {
    Graph g;
    const nn::Sequential net = constructed_network();
    const Value loss = nn::loss_value(nn::Loss::mse, net.forward(g.input("x", DType::f64, x.shape())),
                                      g.input("target", DType::f64, target.shape()));
    const Value w = g.parameter("hidden.weight", DType::f64, Shape{kIn, kUnits});
    const auto program = compile({grad(loss, std::vector<Value>{w})[0]}, Backend::interp);
    Bindings b{{"x", x.to(DType::f64)}, {"target", target.to(DType::f64)}};
    const nn::Parameters params = constructed_parameters();
    for (const auto& e : params.entries()) b.emplace(e.name, e.value);
    const Tensor gw = program->run(b)[0];
    double s = 0;
    for (std::int64_t i = 0; i < gw.numel(); ++i) s += gw.flat(i) * gw.flat(i);
    return std::sqrt(s);
}

}  // namespace

TEST_CASE("diagnostics report the known dead units, sparsity and gradient norm of a constructed network",
          "[diagnostics][interp][jit]") {
    const Backend backend = GENERATE(Backend::interp, Backend::jit);
    const DType dtype = GENERATE(DType::f32, DType::f64);
    CAPTURE(backend_name(backend), dtype);
    constexpr std::int64_t batch = 8;
    const Tensor x = samples(batch, {1, 2, 6}, dtype);  // 3 rows with x0 > 0
    const Tensor target = Tensor::randn(DType::f64, Shape{batch, kOut}, 9).to(dtype);
    nn::Trainer trainer(constructed_network(), constructed_parameters(), nn::Loss::mse, nn::Sgd(0.1),
                        {.backend = backend, .dtype = dtype, .batch_size = batch, .seed = 1, .diagnostics = true});
    trainer.set_learning_rate(0);  // the network stays as constructed
    trainer.step(x, target);

    const auto d = trainer.diagnostics();
    REQUIRE(d.size() == 2);
    const nn::LayerDiagnostics& hidden = d[0];
    CHECK(hidden.layer == "hidden");
    CHECK(hidden.rows == batch);
    CHECK(hidden.active_steps == std::vector<std::int64_t>{0, 0, 1, 1, 1, 1});
    CHECK(hidden.dead_units() == 2);
    // Zeros: units 0 and 1 on every row, units 4 and 5 on the 5 rows with x0 < 0.
    CHECK(hidden.zero_activations == 2 * batch + 2 * 5);
    CHECK(hidden.sparsity() == Approx(static_cast<double>(2 * batch + 2 * 5) / (batch * kUnits)).epsilon(1e-15));
    CHECK(hidden.weight_grad_norm > 0);
    CHECK(hidden.weight_grad_norm == Approx(reference_grad_norm(x, target)).epsilon(dtype == DType::f32 ? 1e-5 : 1e-12));
}

TEST_CASE("dead units are counted over the whole epoch, not per batch", "[diagnostics][interp]") {
    constexpr std::int64_t batch = 4, n = 16;
    const Tensor target = Tensor::zeros(DType::f32, Shape{n, kOut});
    SECTION("one sample of the epoch wakes units 4 and 5") {
        nn::Trainer trainer(constructed_network(), constructed_parameters(), nn::Loss::mse, nn::Sgd(0.1),
                            {.batch_size = batch, .seed = 3, .diagnostics = true});
        trainer.set_learning_rate(0);
        trainer.train_epoch(samples(n, {11}, DType::f32), target);
        const nn::LayerDiagnostics& hidden = trainer.diagnostics()[0];
        CHECK(hidden.rows == n);
        CHECK(hidden.active_steps == std::vector<std::int64_t>{0, 0, n / batch, n / batch, 1, 1});
        CHECK(hidden.dead_units() == 2);
        CHECK(hidden.steps == n / batch);
    }
    SECTION("no sample does: four dead units; a new epoch starts the count afresh") {
        nn::Trainer trainer(constructed_network(), constructed_parameters(), nn::Loss::mse, nn::Sgd(0.1),
                            {.batch_size = batch, .seed = 3, .diagnostics = true});
        trainer.set_learning_rate(0);
        trainer.train_epoch(samples(n, {}, DType::f32), target);
        CHECK(trainer.diagnostics()[0].dead_units() == 4);
        trainer.train_epoch(samples(n, {0, 5}, DType::f32), target);
        CHECK(trainer.diagnostics()[0].dead_units() == 2);
        CHECK(trainer.diagnostics()[0].rows == n);
        trainer.reset_diagnostics();
        CHECK(trainer.diagnostics()[0].rows == 0);
        CHECK(trainer.diagnostics()[0].dead_units() == 0);
    }
}

TEST_CASE("sigmoid activations are never exactly zero, ReLU's of a random layer about half", "[diagnostics][jit]") {
    const auto act = GENERATE(nn::Activation::relu(), nn::Activation::sigmoid());
    constexpr std::int64_t batch = 64;
    nn::Trainer trainer(nn::mlp({32, 64, 4}, act), nn::Loss::mse, nn::Sgd(0.01),
                        {.backend = Backend::jit, .batch_size = batch, .seed = 5, .diagnostics = true});
    trainer.step(Tensor::randn(DType::f32, Shape{batch, 32}, 1), Tensor::zeros(DType::f32, Shape{batch, 4}));
    const double s = trainer.diagnostics()[0].sparsity();
    if (act.kind() == nn::ActivationKind::relu) CHECK((s > 0.35 && s < 0.65));
    else CHECK(s == 0);
}

TEST_CASE("the probes are epilogues of the activation kernel: the JIT plan has no extra kernel", "[diagnostics][jit]") {
    Graph g;
    const Value x = g.input("x", DType::f32, Shape{16, 8});
    const Value w = g.parameter("w", DType::f32, Shape{8, 32});
    const Value b = g.parameter("b", DType::f32, Shape{32});
    const Value z = matmul(x, w) + b;
    const Value a = relu(z);
    const nn::LayerProbes p = nn::activation_probes(z, a);
    auto first_line = [](const std::string& s) { return s.substr(0, s.find('\n')); };
    const std::string plain = first_line(inspect_jit({a}).fused_plan);
    const std::string probed = first_line(inspect_jit({a, p.active, p.zeros}).fused_plan);
    CHECK(plain == "2 steps, 1 kernels");
    CHECK(probed == plain);
    // And the counts agree with the interpreter's.
    const Bindings bind{{"x", Tensor::randn(DType::f32, Shape{16, 8}, 1)},
                        {"w", Tensor::randn(DType::f32, Shape{8, 32}, 2)},
                        {"b", Tensor::randn(DType::f32, Shape{32}, 3)}};
    const auto jit = compile({p.active, p.zeros}, Backend::jit)->run(bind);
    const auto ref = compile({p.active, p.zeros}, Backend::interp)->run(bind);
    for (std::int64_t u = 0; u < 32; ++u) CHECK(jit[0].flat(u) == ref[0].flat(u));
    CHECK(jit[1].flat(0) == ref[1].flat(0));
}

namespace {

// z with special values sprinkled in: NaN, +-0, +-inf and the smallest subnormal, which the
// comparisons must count as the interpreter does.
template <class T> Tensor special_values(Shape shape, std::uint64_t seed) {
    Tensor z = Tensor::randn(DType::f64, shape, seed).to(dtype_of<T>());
    T* p = z.data<T>();
    const T specials[] = {std::numeric_limits<T>::quiet_NaN(), T(0), -T(0), std::numeric_limits<T>::infinity(),
                          -std::numeric_limits<T>::infinity(), std::numeric_limits<T>::denorm_min()};
    for (std::int64_t i = 0; i < z.numel(); i += 7) p[i] = specials[(i / 7) % 6];
    return z;
}

// MXCSR's six exception flags (the bits the tests use are jit/fp_flags.hpp's).
constexpr unsigned kAllFlags = 0x3f;

// `program` run on this thread alone (its kernels then run here, whose MXCSR the test reads),
// with every exception flag clear but `flag` when `flag_before`: its results, and whether
// `flag` is up after.
std::pair<std::vector<Tensor>, bool> run_with_flag(const Program& program, const Bindings& bindings, unsigned flag,
                                                   bool flag_before) {
    const int default_threads = omp_get_max_threads();
    omp_set_num_threads(1);
    _mm_setcsr((_mm_getcsr() & ~kAllFlags) | (flag_before ? flag : 0));
    std::vector<Tensor> results = program.run(bindings);
    const bool flag_after = (_mm_getcsr() & flag) != 0;
    omp_set_num_threads(default_threads);
    return {std::move(results), flag_after};
}

}  // namespace

TEST_CASE("the JIT's probes are the interpreter's, exactly: row blocks, tails, special values, any thread count",
          "[diagnostics][jit][threads]") {
    const DType dtype = GENERATE(DType::f32, DType::f64);
    // ReLU's probes come from relu's own compare (per-unit counts, taking back the NaNs it
    // counts as active, where the activation is stored) or from compares of their own;
    // sigmoid's active units are bits per column, and its zeros are counted only in rows that
    // may have them. A count per column of the same comparison runs beside them.
    const std::string act = GENERATE("relu", "sigmoid");
    const bool activation_stored = GENERATE(true, false);
    // 600 rows: the column counts go through three blocks of 255 rows; 37 and 5 columns end
    // with a partial vector; 1100 x 1000 runs in chunks on several threads; rows of 70,000
    // are too long for the counts' scratch row (counted in their buffers instead).
    using Size = std::pair<std::int64_t, std::int64_t>;
    const auto [rows, units] = GENERATE(Size{600, 37}, Size{3, 5}, Size{1100, 1000}, Size{3, 70000});
    CAPTURE(dtype, act, activation_stored, rows, units);
    Graph g;
    const Value z = g.input("z", dtype, Shape{rows, units});
    const Value b = g.input("b", dtype, Shape{units});
    const Value pre = z + b;
    const Value a = act == "relu" ? relu(pre) : sigmoid(pre);
    const nn::LayerProbes p = nn::activation_probes(pre, a);
    const Value zero = g.constant(0, dtype);
    // Beside the probes, in the same kernel: a float sum per column, a count per row and one
    // per column.
    std::vector<Value> outs{p.active, p.zeros, sum(a, std::int64_t{0}), sum(greater(pre, zero), std::int64_t{1}),
                            sum(greater(pre, zero), std::int64_t{0})};
    if (activation_stored) outs.push_back(a);
    const Bindings bind{{"z", dtype == DType::f32 ? with_quiet_columns(special_values<float>(Shape{rows, units}, 11))
                                                  : with_quiet_columns(special_values<double>(Shape{rows, units}, 11))},
                        {"b", small_bias(units, dtype, 12)}};
    const auto ref = compile(outs, Backend::interp)->run(bind);
    const auto jit = compile(outs, Backend::jit);
    // The probes and counts, from the data directly.
    std::vector<std::int64_t> active(static_cast<std::size_t>(units), 0);
    std::int64_t zeros = 0;
    for (std::int64_t r = 0; r < rows; ++r)
        for (std::int64_t u = 0; u < units; ++u) {
            const double x = bind.at("z").flat(r * units + u) + bind.at("b").flat(u);
            const double y = dtype == DType::f32 ? static_cast<double>(static_cast<float>(x)) : x;
            active[static_cast<std::size_t>(u)] += y > 0;
            // sigmoid is 0 only where exp(y) underflows (y = -inf among the special values)
            zeros += act == "relu" ? y <= 0 : y < -200;
        }
    std::int64_t inactive_units = 0;
    for (std::int64_t a_u : active) inactive_units += a_u == 0;
    CHECK(inactive_units >= (units + 2) / 3);  // the quiet columns, every third
    const int default_threads = omp_get_max_threads();
    for (int threads : {1, 2, 5}) {
        CAPTURE(threads);
        omp_set_num_threads(threads);
        const auto got = jit->run(bind);
        std::int64_t wrong_active = 0, wrong_counts = 0, wrong_sums = 0, wrong_row_counts = 0;
        for (std::int64_t u = 0; u < units; ++u) {
            const auto count = static_cast<double>(active[static_cast<std::size_t>(u)]);
            wrong_active += got[0].flat(u) != (count > 0 ? 1.0 : 0.0) || got[0].flat(u) != ref[0].flat(u);
            wrong_counts += got[4].flat(u) != count || got[4].flat(u) != ref[4].flat(u);
            const double x = got[2].flat(u), y = ref[2].flat(u);  // NaN or inf where a column has them
            wrong_sums += !(std::isnan(x) ? std::isnan(y) : x == Approx(y).epsilon(1e-5));
        }
        for (std::int64_t r = 0; r < rows; ++r) wrong_row_counts += got[3].flat(r) != ref[3].flat(r);
        CHECK(wrong_active == 0);
        CHECK(wrong_counts == 0);
        CHECK(wrong_sums == 0);
        CHECK(wrong_row_counts == 0);
        CHECK(got[1].flat(0) == static_cast<double>(zeros));
        CHECK(got[1].flat(0) == ref[1].flat(0));
    }
    omp_set_num_threads(default_threads);
}

TEST_CASE("rare zeros (sigmoid, softplus, exp) are counted exactly, and the caller's underflow flag is what "
          "the kernel leaves",
          "[diagnostics][jit]") {
    // The JIT counts the zeros of these only after groups of rows where MXCSR's underflow flag
    // went up (~8K elements: 8 rows of 1000, 221 of 37), and clears the flag for that
    // (jit/codegen.cpp, count_rare_zeros): a zero in one row among clean ones, an underflow
    // without a zero (a subnormal result), the caller's flag and its denormals-are-zero mode
    // must all come out as without the count.
    const std::string act = GENERATE("sigmoid", "softplus", "exp");
    const DType dtype = GENERATE(DType::f32, DType::f64);
    const bool denormals_are_zero = GENERATE(false, true);
    const auto [rows, units] = GENERATE(std::pair<std::int64_t, std::int64_t>{300, 37}, std::pair<std::int64_t, std::int64_t>{40, 1000});
    CAPTURE(act, dtype, denormals_are_zero, rows, units);
    const bool f32 = dtype == DType::f32;
    Graph g;
    const Value pre = g.input("z", dtype, Shape{rows, units}) + g.input("b", dtype, Shape{units});
    const Value a = act == "sigmoid" ? sigmoid(pre) : act == "softplus" ? softplus(pre) : exp(pre);
    const nn::LayerProbes p = nn::activation_probes(pre, a);
    const auto jit = compile({a, p.active, p.zeros}, Backend::jit);
    const Tensor b = Tensor::zeros(dtype, Shape{units});
    const Tensor clean = Tensor::randn(DType::f64, Shape{rows, units}, 21).to(dtype);
    Tensor rare = clean.to(dtype);
    auto set = [&](std::int64_t r, std::int64_t u, double x) {
        if (f32) rare.data<float>()[r * units + u] = static_cast<float>(x);
        else rare.data<double>()[r * units + u] = x;
    };
    set(17, 3, -std::numeric_limits<double>::infinity());  // 0
    set(rows - 1, units - 1, f32 ? -120.0 : -760.0);          // 0, the last element
    set(rows / 2, 5, f32 ? -95.0 : -720.0);                   // subnormal: an underflow, no zero

    const unsigned saved_csr = _mm_getcsr();
    if (denormals_are_zero) _mm_setcsr(saved_csr | jit::kMxcsrDenormalsAreZero);
    auto zeros_of = [&](const Tensor& z, bool flag_before) {
        const auto [got, flag_after] = run_with_flag(*jit, {{"z", z}, {"b", b}}, jit::kMxcsrUnderflowFlag, flag_before);
        std::int64_t stored_zeros = 0;
        for (std::int64_t i = 0; i < rows * units; ++i) stored_zeros += got[0].flat(i) == 0;
        CHECK(got[2].flat(0) == static_cast<double>(stored_zeros));
        return std::pair{stored_zeros, flag_after};
    };
    const auto [clean_zeros, clean_flag] = zeros_of(clean, false);
    const auto [clean_zeros_flagged, flag_kept] = zeros_of(clean, true);
    const auto [rare_zeros, rare_flag] = zeros_of(rare, false);
    _mm_setcsr(saved_csr);

    CHECK(clean_zeros == 0);
    CHECK_FALSE(clean_flag);  // nothing underflows for N(0, 1) values
    CHECK(clean_zeros_flagged == 0);
    CHECK(flag_kept);         // the caller's flag, cleared while the kernel ran, is back
    // DAZ reads the subnormal result as 0, in the kernel's count and here alike.
    CHECK(rare_zeros == (denormals_are_zero ? 3 : 2));
    CHECK(rare_flag);         // the kernel's own underflows show, as without the count
}

TEST_CASE("ReLU's active units and counts take NaNs back by the invalid flag, and the caller's flag is what the "
          "kernel leaves",
          "[diagnostics][jit]") {
    // The JIT counts relu's own compare (z > 0 or NaN) and takes the NaNs back
    // only in blocks of rows after which MXCSR's invalid flag is up (jit/codegen.cpp, "MXCSR's
    // sticky flags as guards"), clearing the flag for that and setting it again on return.
    // The NaNs are in columns never positive: counted, they would make those units active.
    const DType dtype = GENERATE(DType::f32, DType::f64);
    const auto [rows, units] = GENERATE(std::pair<std::int64_t, std::int64_t>{600, 256}, std::pair<std::int64_t, std::int64_t>{300, 37});
    CAPTURE(dtype, rows, units);
    Graph g;
    const Value pre = g.input("z", dtype, Shape{rows, units}) + g.input("b", dtype, Shape{units});
    const Value a = relu(pre);
    const nn::LayerProbes p = nn::activation_probes(pre, a);
    const Value counts = sum(greater(pre, g.constant(0, dtype)), std::int64_t{0});
    const auto jit = compile({a, p.active, p.zeros, counts}, Backend::jit);
    const Tensor b = Tensor::zeros(dtype, Shape{units});
    const Tensor random = Tensor::randn(DType::f64, Shape{rows, units}, 23).to(dtype);
    const Tensor clean = with_quiet_columns(random);
    Tensor with_nans = clean.to(dtype);
    for (const std::int64_t i : {std::int64_t{17} * units + 3, rows * units - 1}) {
        if (dtype == DType::f32) with_nans.data<float>()[i] = std::numeric_limits<float>::quiet_NaN();
        else with_nans.data<double>()[i] = std::numeric_limits<double>::quiet_NaN();
    }

    const unsigned saved_csr = _mm_getcsr();
    auto wrong_counts_and_flag = [&](const Tensor& z, bool flag_before) {
        const auto [got, flag_after] = run_with_flag(*jit, {{"z", z}, {"b", b}}, jit::kMxcsrInvalidFlag, flag_before);
        std::int64_t wrong = 0, zeros = 0;
        for (std::int64_t u = 0; u < units; ++u) {
            std::int64_t active = 0;
            for (std::int64_t r = 0; r < rows; ++r) {
                const double x = z.flat(r * units + u);
                active += x > 0;
                zeros += x <= 0;  // relu(NaN) is NaN, not 0
            }
            wrong += got[1].flat(u) != (active > 0 ? 1.0 : 0.0);
            wrong += got[3].flat(u) != static_cast<double>(active);
        }
        wrong += got[2].flat(0) != static_cast<double>(zeros);
        return std::pair{wrong, flag_after};
    };
    const auto [clean_wrong, clean_flag] = wrong_counts_and_flag(clean, false);
    const auto [clean_flagged_wrong, flag_kept] = wrong_counts_and_flag(clean, true);
    const auto [nan_wrong, nan_flag] = wrong_counts_and_flag(with_nans, false);
    _mm_setcsr(saved_csr);

    CHECK(clean_wrong == 0);
    CHECK(clean_flagged_wrong == 0);
    CHECK(nan_wrong == 0);
    CHECK_FALSE(clean_flag);
    CHECK(flag_kept);  // the caller's flag, cleared while the kernel ran, is back
    CHECK(nan_flag);   // relu's compare of a NaN raised it, as without the counts
}

TEST_CASE("the probes of every activation count as the interpreter's, special values included", "[diagnostics][jit]") {
    // The JIT shares comparisons between an activation and its probes (relu's own x <= 0 is
    // its zero count, x > 0 or NaN its active units): the probes and the activations must stay
    // the interpreter's, NaN, -0 and infinities included, in columns with and without a unit
    // active.
    const DType dtype = GENERATE(DType::f32, DType::f64);
    const std::string act = GENERATE("relu", "leaky_relu", "sigmoid", "tanh");
    CAPTURE(dtype, act);
    const std::int64_t rows = 41, units = 29;
    Graph g;
    const Value pre = g.input("z", dtype, Shape{rows, units});
    const Value a = act == "relu"         ? relu(pre)
                    : act == "leaky_relu" ? leaky_relu(pre, 0.01)
                    : act == "sigmoid"    ? sigmoid(pre)
                                          : tanh(pre);
    const nn::LayerProbes p = nn::activation_probes(pre, a);
    const Bindings bind{{"z", dtype == DType::f32 ? with_quiet_columns(special_values<float>(Shape{rows, units}, 5))
                                                  : with_quiet_columns(special_values<double>(Shape{rows, units}, 5))}};
    const auto ref = compile({a, p.active, p.zeros}, Backend::interp)->run(bind);
    std::int64_t inactive_units = 0;
    for (std::int64_t u = 0; u < units; ++u) inactive_units += ref[1].flat(u) == 0;
    CHECK(inactive_units == (units + 2) / 3);
    const auto got = compile({a, p.active, p.zeros}, Backend::jit)->run(bind);
    std::int64_t wrong_activations = 0, wrong_active = 0;
    for (std::int64_t i = 0; i < rows * units; ++i) {
        const double x = got[0].flat(i), y = ref[0].flat(i);
        wrong_activations += !(std::isnan(y) ? std::isnan(x) : x == y);
    }
    for (std::int64_t u = 0; u < units; ++u) wrong_active += got[1].flat(u) != ref[1].flat(u);
    CHECK(wrong_activations == 0);
    CHECK(wrong_active == 0);
    CHECK(got[2].flat(0) == ref[2].flat(0));
}

TEST_CASE("diagnostics: misuse is a user error", "[diagnostics][error]") {
    nn::Trainer trainer(nn::mlp({4, 3, 2}, nn::Activation::relu()), nn::Loss::mse, nn::Sgd(0.1), {.batch_size = 2});
    CHECK_THROWS_AS(trainer.diagnostics(), UserError);
    Graph g;
    const Value z = g.input("z", DType::f32, Shape{4, 3});
    CHECK_THROWS_AS(nn::activation_probes(z, g.input("a", DType::f32, Shape{4, 2})), UserError);
    CHECK_THROWS_AS(nn::activation_probes(g.input("v", DType::f32, Shape{4}), g.input("w", DType::f32, Shape{4})),
                    UserError);
}
