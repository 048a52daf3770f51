// The differential fuzzer's graph generator (see graph_from_bytes.hpp).
#include "graph_from_bytes.hpp"

#include <algorithm>
#include <limits>
#include <optional>
#include <string>

#include <fmt/format.h>

#include "nnjit/autodiff.hpp"
#include "nnjit/error.hpp"
#include "nnjit/graph_ops.hpp"

namespace nnjit::fuzz {
namespace {

// The fuzz bytes as a stream of decisions.
class Decisions {
public:
    explicit Decisions(std::span<const std::uint8_t> bytes) : bytes_(bytes), state_(0x9e3779b97f4a7c15ULL ^ bytes.size()) {}

    std::uint8_t byte() {
        if (pos_ < bytes_.size()) return bytes_[pos_++];
        state_ ^= state_ << 13;  // xorshift64
        state_ ^= state_ >> 7;
        state_ ^= state_ << 17;
        return static_cast<std::uint8_t>(state_ >> 56);
    }
    std::size_t pick(std::size_t n) { return byte() % n; }
    bool coin() { return byte() & 1; }
    template <class T, std::size_t N> const T& one_of(const T (&table)[N]) { return table[pick(N)]; }

private:
    std::span<const std::uint8_t> bytes_;
    std::size_t pos_ = 0;
    std::uint64_t state_;
};

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Where the approximations change branch or clamp, and the values that break naive code.
constexpr double kSpecial[] = {0.0,     -0.0,     1.0,     -1.0,    0.5,      -0.5,    2.0,     -2.0,
                               3.0,     10.0,     -10.0,   20.0,    -20.0,    50.0,    -50.0,   88.0,
                               -88.0,   89.0,     -87.5,   -104.0,  -105.0,   100.0,   0x1p-126, 0x1p-149,
                               -0x1p-149, 3e38,   -3e38,   kInf,    -kInf,    kNaN,    1e-20,   1e20,
                               0.46875, 0.625,    1.25,    2.5,     10.1,     9.0,     -9.5,    1e4,
                               -1e4,    0.001,    1e-7,    -30.0,   710.0,    -746.0,  0.3635,  -4.157};

double value(Decisions& d) {
    const std::uint8_t b = d.byte();
    const double v = b < 200 ? (static_cast<int>(b) - 100) / 16.0 : kSpecial[(b - 200) % std::size(kSpecial)];
    return static_cast<double>(static_cast<float>(v));  // float32-representable
}

constexpr Op kUnary[] = {Op::Neg,     Op::Exp,  Op::Log, Op::Sqrt, Op::Abs,  Op::Relu,     Op::LeakyRelu,
                         Op::Sigmoid, Op::Tanh, Op::Elu, Op::Silu, Op::Gelu, Op::Softplus, Op::Erfc};
// Ops that joined later: picked by the bytes 252..255, which picked from kUnary before, so a
// saved input whose bytes stay below 252 (tests/fuzz/regressions) keeps its graph.
constexpr Op kLaterUnary[] = {Op::Expm1, Op::Log1p};
constexpr Op kBinary[] = {Op::Add, Op::Sub, Op::Mul, Op::Div, Op::Maximum, Op::Minimum, Op::Prelu};
// Even bytes pick mean, odd ones sum, as the coin that chose between the two did before max and min.
constexpr Op kReductions[] = {Op::Mean, Op::Sum, Op::Max, Op::Min};
constexpr double kAlphas[] = {0.01, 0.3, 1.0, 1.7, -0.5, 0.0};
constexpr double kConstants[] = {0.5, -2.0, 3.0, 0.1, 1.0, 0.0, 1e-30, 1e30};

class Builder {
public:
    Builder(std::span<const std::uint8_t> bytes, Graph& graph, DType dtype) : d_(bytes), g_(graph), dtype_(dtype) {}

    FuzzGraph build() {
        const int rank = static_cast<int>(d_.pick(4));
        std::vector<std::int64_t> dims;
        for (int i = 0; i < rank; ++i) dims.push_back(1 + static_cast<std::int64_t>(d_.pick(5)));
        base_ = Shape(dims);
        const std::size_t n_inputs = 1 + d_.pick(3);
        for (std::size_t k = 0; k < n_inputs; ++k) pool_.push_back(new_input(k == 0 ? base_ : sub_shape(base_)));
        const std::size_t steps = 1 + d_.pick(12);
        for (std::size_t s = 0; s < steps; ++s) pool_.push_back(step());

        const Value y = pool_.back();
        out_.outputs.push_back(y);
        out_.outputs.push_back(pool_[d_.pick(pool_.size())]);
        const Value gy = new_input(y.shape(), false);
        for (Value gx : grad(y, inputs_, gy)) out_.outputs.push_back(gx);
        for (const Node* n : reachable_nodes(out_.outputs))
            if (is_axis_reduction(n->op()) || n->op() == Op::MatMul || n->op() == Op::Softmax ||
                n->op() == Op::LogSoftmax)
                out_.elementwise_only = false;
        return std::move(out_);
    }

private:
    Op unary_op() {
        const std::uint8_t b = d_.byte();
        return b < 252 ? kUnary[b % std::size(kUnary)] : kLaterUnary[(b - 252) % std::size(kLaterUnary)];
    }

    Decisions d_;
    Graph& g_;
    DType dtype_;
    Shape base_;
    std::vector<Value> pool_, inputs_;  // inputs_: the placeholders the gradient is taken for
    int n_placeholders_ = 0;
    FuzzGraph out_;

    Value new_input(const Shape& shape, bool differentiated = true) {
        const std::string name = fmt::format("x{}", n_placeholders_);
        Value x = n_placeholders_ % 2 ? g_.parameter(name, dtype_, shape) : g_.input(name, dtype_, shape);
        std::vector<double> values(static_cast<std::size_t>(shape.numel()));
        for (auto& v : values) v = value(d_);
        Tensor t = dtype_ == DType::f64 ? Tensor::from<double>(shape, values)
                                        : Tensor::from<float>(shape, std::vector<float>(values.begin(), values.end()));
        out_.bindings[name] = std::move(t);
        ++n_placeholders_;
        if (differentiated) inputs_.push_back(x);
        return x;
    }

    // `base` with some dimensions set to 1 and maybe some leading ones dropped.
    Shape sub_shape(const Shape& base) {
        std::vector<std::int64_t> dims = base.dims();
        for (auto& dim : dims)
            if (d_.pick(3) == 0) dim = 1;
        if (!dims.empty() && d_.pick(3) == 0) dims.erase(dims.begin(), dims.begin() + static_cast<long>(1 + d_.pick(dims.size())));
        return Shape(dims);
    }

    // `op` over `axes` (every axis when empty).
    static Value reduction(Op op, Value a, std::vector<std::int64_t> axes, bool keepdims) {
        const bool all = axes.empty();
        switch (op) {
        case Op::Sum: return all ? sum(a, keepdims) : sum(a, std::move(axes), keepdims);
        case Op::Mean: return all ? mean(a, keepdims) : mean(a, std::move(axes), keepdims);
        case Op::Max: return all ? max(a, keepdims) : max(a, std::move(axes), keepdims);
        default: return all ? min(a, keepdims) : min(a, std::move(axes), keepdims);
        }
    }

    static std::optional<Shape> broadcast(const Shape& a, const Shape& b) {
        try {
            return broadcast_shapes(a, b, "fuzz");
        } catch (const UserError&) {
            return std::nullopt;
        }
    }

    // A pool value whose shape broadcasts with `shape` (`fallback` when none does).
    Value partner(const Shape& shape, Value fallback) {
        std::vector<Value> fits;
        for (const Value& v : pool_)
            if (broadcast(shape, v.shape())) fits.push_back(v);
        return fits.empty() ? fallback : fits[d_.pick(fits.size())];
    }

    Value step() {
        const Value a = pool_[d_.pick(pool_.size())];
        const int rank = a.shape().rank();
        switch (d_.pick(17)) {
        case 0: case 1: case 2: case 3: case 4: {
            const Value in[] = {a};
            return elementwise(unary_op(), in, d_.one_of(kAlphas));
        }
        case 5: case 6: case 7: case 8: {
            const Value in[] = {a, partner(a.shape(), a)};
            return elementwise(d_.one_of(kBinary), in);
        }
        case 9: {
            const Value b = partner(a.shape(), a);
            const Value both[] = {a, b};
            const Value cond = elementwise(d_.coin() ? Op::Greater : Op::Equal, both);
            const Value x = partner(cond.shape(), a);
            const Value y = partner(*broadcast(cond.shape(), x.shape()), a);
            return where(cond, x, y);
        }
        case 10: {
            const double c = d_.one_of(kConstants);
            switch (d_.pick(4)) {
            case 0: return a * c;
            case 1: return c - a;
            case 2: return a + c;
            default: return a / c;
            }
        }
        case 11: {
            if (rank == 0) return reduction(d_.one_of(kReductions), a, {}, false);
            std::vector<std::int64_t> axes;
            for (int i = 0; i < rank; ++i)
                if (d_.coin()) axes.push_back(i);
            const bool keepdims = d_.coin();
            return reduction(d_.one_of(kReductions), a, std::move(axes), keepdims);
        }
        case 12: {
            if (rank == 0) return exp(a);
            const auto axis = static_cast<std::int64_t>(d_.pick(static_cast<std::size_t>(rank))) - (d_.coin() ? rank : 0);
            return d_.coin() ? softmax(a, axis) : log_softmax(a, axis);
        }
        case 13: {
            if (rank != 2) return tanh(a);
            const std::int64_t n = 1 + static_cast<std::int64_t>(d_.pick(4));
            if (d_.coin()) return matmul(a, new_input(Shape{a.shape()[1], n}));
            return matmul(new_input(Shape{n, a.shape()[0]}), a);
        }
        case 14: {
            if (rank >= 2 && d_.coin()) {
                std::vector<std::int64_t> perm(static_cast<std::size_t>(rank));
                for (int i = 0; i < rank; ++i) perm[static_cast<std::size_t>(i)] = i;
                for (int i = rank - 1; i > 0; --i) std::swap(perm[static_cast<std::size_t>(i)], perm[d_.pick(static_cast<std::size_t>(i) + 1)]);
                return transpose(a, perm);
            }
            const std::int64_t n = a.shape().numel();
            return d_.coin() ? reshape(a, Shape{n}) : reshape(a, Shape{1, n});
        }
        case 15: {
            // Through the other dtype and back: float64 -> float32 rounds, float32 -> float64 is exact.
            const DType other = dtype_ == DType::f32 ? DType::f64 : DType::f32;
            return cast(cast(a, other), dtype_);
        }
        default: {
            if (rank >= Shape::kMaxRank || a.shape().numel() > 500) return neg(a);
            std::vector<std::int64_t> dims = a.shape().dims();
            dims.insert(dims.begin(), 1 + static_cast<std::int64_t>(d_.pick(3)));
            return broadcast_to(a, Shape(dims));
        }
        }
    }
};

}  // namespace

FuzzGraph graph_from_bytes(std::span<const std::uint8_t> bytes, Graph& graph, DType dtype) {
    return Builder(bytes, graph, dtype).build();
}

}  // namespace nnjit::fuzz
