// The inference plan (nn::Predictor): predict_into writes what predict returns into a tensor
// of the caller's, reused from call to call, on either engine and for any number of rows;
// the JIT's single-sample prediction equals the interpreter's bit for bit; wrong outputs and
// inputs are clear errors.
#include <catch2/catch.hpp>

#include <cmath>

#include "nnjit/engine.hpp"
#include "nnjit/nn.hpp"

using namespace nnjit;

namespace {

const nn::Sequential& small_net() {
    static const nn::Sequential net = nn::mlp({32, 64, 64, 1}, nn::Activation::relu());
    return net;
}

}  // namespace

TEST_CASE("predictor: predict_into writes what predict returns, into a reused tensor", "[infer]") {
    const Backend backend = GENERATE(Backend::jit, Backend::interp);
    CAPTURE(backend_name(backend));
    const nn::Parameters params = small_net().init(DType::f32, 3);
    const nn::Predictor predictor(small_net(), backend, DType::f32, 4);
    // One row (the single-sample case), a full batch, and batches of 4, 4 and 2.
    for (const std::int64_t rows : {1, 4, 10}) {
        CAPTURE(rows);
        Tensor out = Tensor::full(DType::f32, Shape{rows, 1}, std::nan(""));
        for (std::uint64_t seed : {5, 6}) {  // the second call overwrites the first's result
            const Tensor x = Tensor::randn(DType::f32, Shape{rows, 32}, seed);
            predictor.predict_into(x, params, out);
            const Tensor expected = predictor.predict(x, params);
            CHECK(bitwise_equal(out, expected));
            CHECK(std::isfinite(out.flat(0)));
        }
    }
}

TEST_CASE("predictor: the JIT's single-sample prediction equals the interpreter's bit for bit", "[infer][jit]") {
    // Both engines run a one-row product through the same small-product loops
    // (detail::small_matmul) and bias + ReLU elementwise, so the results are identical.
    const nn::Parameters params = small_net().init(DType::f32, 7);
    const nn::Predictor jit(small_net(), Backend::jit), interp(small_net(), Backend::interp);
    Tensor out_jit = Tensor::empty(DType::f32, Shape{1, 1}), out_interp = Tensor::empty(DType::f32, Shape{1, 1});
    int positive = 0;
    for (std::uint64_t seed = 0; seed < 20; ++seed) {
        const Tensor x = Tensor::randn(DType::f32, Shape{1, 32}, 100 + seed);
        jit.predict_into(x, params, out_jit);
        interp.predict_into(x, params, out_interp);
        CAPTURE(seed, out_jit.flat(0), out_interp.flat(0));
        CHECK(bitwise_equal(out_jit, out_interp));
        positive += out_jit.flat(0) > 0;
    }
    CHECK(positive > 0);  // the samples reach both signs of the output: not a network of zeros
    CHECK(positive < 20);
}

TEST_CASE("predictor: a wrong output or input of predict_into is a clear error", "[infer][error]") {
    const Backend backend = GENERATE(Backend::jit, Backend::interp);
    CAPTURE(backend_name(backend));
    const nn::Parameters params = small_net().init(DType::f32, 3);
    const nn::Predictor predictor(small_net(), backend);
    const Tensor x = Tensor::randn(DType::f32, Shape{2, 32}, 1);
    Tensor wrong_rows = Tensor::empty(DType::f32, Shape{3, 1});
    CHECK_THROWS_WITH(predictor.predict_into(x, params, wrong_rows),
                      "predict_into: the output must be a contiguous float32 (2, 1), got float32 (3, 1)");
    Tensor wrong_dtype = Tensor::empty(DType::f64, Shape{2, 1});
    CHECK_THROWS_WITH(predictor.predict_into(x, params, wrong_dtype),
                      "predict_into: the output must be a contiguous float32 (2, 1), got float64 (2, 1)");
    Tensor wrong_rank = Tensor::empty(DType::f32, Shape{2});
    CHECK_THROWS_WITH(predictor.predict_into(x, params, wrong_rank),
                      "predict_into: the output must be a contiguous float32 (2, 1), got float32 (2,)");
    Tensor not_contiguous = Tensor::empty(DType::f32, Shape{1, 2}).transpose();  // (2, 1) with strides (1, 2)
    REQUIRE_FALSE(not_contiguous.is_contiguous());
    CHECK_THROWS_WITH(predictor.predict_into(x, params, not_contiguous),
                      "predict_into: the output must be a contiguous float32 (2, 1), got float32 (2, 1) (not contiguous)");
    Tensor wide_x = Tensor::empty(DType::f32, Shape{2, 33}), out = Tensor::empty(DType::f32, Shape{2, 1});
    CHECK_THROWS_WITH(predictor.predict_into(wide_x, params, out),
                      "predict: expects float32 (n, 32), got float32 (2, 33)");
    // A parameter of the wrong shape: the program names it.
    nn::Parameters bad;
    for (const auto& e : params.entries())
        bad.add(e.name, e.name == "dense1.bias" ? Tensor::zeros(DType::f32, Shape{65}) : e.value);
    CHECK_THROWS_WITH(predictor.predict_into(x, bad, out), Catch::Contains("'dense1.bias' expects float32 (64,)"));
    // The engines read x while they write the output: the output may not be x.
    Tensor square_x = Tensor::randn(DType::f32, Shape{1, 32}, 2);
    const nn::Predictor identity(nn::mlp({32, 32}, nn::Activation::relu()), backend);
    const nn::Parameters identity_params = identity.model().init(DType::f32, 1);
    CHECK_THROWS_WITH(identity.predict_into(square_x, identity_params, square_x),
                      "predict_into: the output shares storage with x or a parameter");
}
