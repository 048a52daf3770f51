// The interval oracle (see interval_oracle.hpp for the error analysis it implements).
#include "interval_oracle.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <utility>

#include <fmt/format.h>

#include "nnjit/error.hpp"
#include "nnjit/op_rules.hpp"

namespace nnjit::fuzz {
namespace {

using ld = long double;
constexpr ld kInf = std::numeric_limits<ld>::infinity();
// Relative error of the oracle's own long double arithmetic and libm calls (a few ulps of a
// 64-bit significand, 2^-63 each).
constexpr ld kOracleSlack = 0x1p-60L;

// The floating-point format of a node's dtype.
struct Format {
    int precision;  // p: significand bits, implicit bit included
    ld denorm_min, max_finite;
    bool f64;

    static Format of(DType dtype) {
        if (dtype == DType::f64)
            return {53, std::numeric_limits<double>::denorm_min(), std::numeric_limits<double>::max(), true};
        return {24, std::numeric_limits<float>::denorm_min(), std::numeric_limits<float>::max(), false};
    }
    ld eps() const { return std::ldexp(1.0L, 1 - precision); }  // ulp(v) <= eps |v| (normal v)
    ld unit_roundoff() const { return std::ldexp(1.0L, -precision); }
    ld round(double v) const { return f64 ? static_cast<ld>(v) : static_cast<ld>(static_cast<float>(v)); }
};

Interval point(ld v) { return std::isnan(v) ? Interval{kInf, -kInf, true} : Interval{v, v, false}; }
Interval nan_only() { return {kInf, -kInf, true}; }
Interval anything() { return {-kInf, kInf, true}; }

bool holds_zero(const Interval& a) { return !a.empty() && a.lo <= 0 && a.hi >= 0; }
bool holds_inf(const Interval& a) { return !a.empty() && (a.lo == -kInf || a.hi == kInf); }

Interval hull(const Interval& a, const Interval& b) {
    if (a.empty()) return {b.lo, b.hi, a.nan || b.nan};
    if (b.empty()) return {a.lo, a.hi, a.nan || b.nan};
    return {std::min(a.lo, b.lo), std::max(a.hi, b.hi), a.nan || b.nan};
}

// Widens the exact image `r` by `ulps` ulps of `format` (plus the oracle's own slack), and lets
// a result beyond the largest finite value be infinite.
Interval widen(Interval r, ld ulps, const Format& format) {
    if (r.empty()) return r;
    const ld rel = ulps * format.eps() + kOracleSlack;
    const ld abs = ulps * format.denorm_min;
    if (std::isfinite(r.lo)) r.lo -= rel * std::fabs(r.lo) + abs;
    if (std::isfinite(r.hi)) r.hi += rel * std::fabs(r.hi) + abs;
    if (r.hi > format.max_finite) r.hi = kInf;
    if (r.lo > format.max_finite) r.lo = format.max_finite;
    if (r.lo < -format.max_finite) r.lo = -kInf;
    if (r.hi < -format.max_finite) r.hi = -format.max_finite;
    return r;
}

// Three-valued comparison results.
enum class Tri { no, yes, maybe };

// The Math of op_rules.hpp over intervals: every primitive returns an interval that holds what
// the engines compute for any inputs in its operands' intervals.
class IntervalMath {
public:
    using Value = Interval;
    using Mask = Tri;

    explicit IntervalMath(Format format) : f_(format) {}

    Interval c(double v) const { return point(f_.round(v)); }

    Interval neg(const Interval& a) const { return a.empty() ? a : Interval{-a.hi, -a.lo, a.nan}; }
    Interval abs(const Interval& a) const {
        if (a.empty()) return a;
        if (a.lo >= 0) return a;
        if (a.hi <= 0) return neg(a);
        return {0, std::max(-a.lo, a.hi), a.nan};
    }

    Interval add(const Interval& a, const Interval& b) const {
        if (a.empty() || b.empty()) return nan_only();
        const bool pos_inf = a.hi == kInf || b.hi == kInf, neg_inf = a.lo == -kInf || b.lo == -kInf;
        Interval r{neg_inf ? -kInf : a.lo + b.lo, pos_inf ? kInf : a.hi + b.hi, a.nan || b.nan};
        r.nan |= (a.hi == kInf && b.lo == -kInf) || (a.lo == -kInf && b.hi == kInf);  // inf - inf
        return widen(r, 0.5L, f_);
    }
    Interval sub(const Interval& a, const Interval& b) const { return add(a, neg(b)); }

    Interval mul(const Interval& a, const Interval& b) const {
        if (a.empty() || b.empty()) return nan_only();
        auto times = [](ld x, ld y) { return (x == 0 || y == 0) ? ld{0} : x * y; };  // 0*inf: see nan
        const ld p[] = {times(a.lo, b.lo), times(a.lo, b.hi), times(a.hi, b.lo), times(a.hi, b.hi)};
        Interval r{*std::min_element(std::begin(p), std::end(p)), *std::max_element(std::begin(p), std::end(p)),
                   a.nan || b.nan};
        r.nan |= (holds_zero(a) && holds_inf(b)) || (holds_inf(a) && holds_zero(b));
        return widen(r, 0.5L, f_);
    }

    Interval div(const Interval& a, const Interval& b) const {
        if (a.empty() || b.empty()) return nan_only();
        if (holds_zero(b) || (holds_inf(a) && holds_inf(b))) return anything();
        const ld q[] = {a.lo / b.lo, a.lo / b.hi, a.hi / b.lo, a.hi / b.hi};
        return widen({*std::min_element(std::begin(q), std::end(q)), *std::max_element(std::begin(q), std::end(q)),
                      a.nan || b.nan},
                     0.5L, f_);
    }

    Interval sqrt(const Interval& a) const { return domain_from(a, 0, [](ld x) { return std::sqrt(x); }, 0.5L); }
    Interval log(const Interval& a) const { return domain_from(a, 0, [](ld x) { return std::log(x); }, ulps(4, 2)); }
    Interval log1p(const Interval& a) const {
        return domain_from(a, -1, [](ld x) { return std::log1p(x); }, ulps(4, 2));
    }
    Interval exp(const Interval& a) const { return increasing(a, [](ld x) { return std::exp(x); }, ulps(4, 2)); }
    Interval expm1(const Interval& a) const {
        return increasing(a, [](ld x) { return std::expm1(x); }, ulps(4, 2));
    }
    Interval tanh(const Interval& a) const {
        return increasing(a, [](ld x) { return std::tanh(x); }, ulps(4, 2.5L));
    }
    Interval erfc(const Interval& a) const {
        if (a.empty()) return a;
        return widen({std::erfc(a.hi), std::erfc(a.lo), a.nan}, ulps(4, 4), f_);  // decreasing
    }

    Tri gt(const Interval& a, const Interval& b) const {
        if (a.empty() || b.empty() || a.hi <= b.lo) return Tri::no;
        if (!a.nan && !b.nan && a.lo > b.hi) return Tri::yes;
        return Tri::maybe;
    }
    Tri lt(const Interval& a, const Interval& b) const { return gt(b, a); }
    Tri eq(const Interval& a, const Interval& b) const {
        if (a.empty() || b.empty() || a.hi < b.lo || b.hi < a.lo) return Tri::no;
        if (!a.nan && !b.nan && a.lo == a.hi && b.lo == b.hi && a.lo == b.lo) return Tri::yes;
        return Tri::maybe;
    }
    Tri is_nan(const Interval& a) const {
        if (a.empty()) return Tri::yes;
        return a.nan ? Tri::maybe : Tri::no;
    }
    Tri mask_or(Tri p, Tri q) const {
        if (p == Tri::yes || q == Tri::yes) return Tri::yes;
        if (p == Tri::no && q == Tri::no) return Tri::no;
        return Tri::maybe;
    }
    Interval select(Tri mask, const Interval& a, const Interval& b) const {
        if (mask == Tri::yes) return a;
        if (mask == Tri::no) return b;
        return hull(a, b);
    }

private:
    Format f_;

    ld ulps(ld f32_bound, ld f64_bound) const { return f_.f64 ? f64_bound : f32_bound; }

    template <class F> Interval increasing(const Interval& a, F f, ld bound) const {
        if (a.empty()) return a;
        return widen({f(a.lo), f(a.hi), a.nan}, bound, f_);
    }
    // An increasing function defined from `start` on; NaN below it.
    template <class F> Interval domain_from(const Interval& a, ld start, F f, ld bound) const {
        if (a.empty()) return a;
        if (a.hi < start) return nan_only();
        return increasing({std::max(a.lo, start), a.hi, a.nan || a.lo < start}, f, bound);
    }
};

template <class R, std::size_t Arity> Interval apply_rule(IntervalMath& m, const Interval* x, double alpha) {
    return [&]<std::size_t... I>(std::index_sequence<I...>) {
        if constexpr (rules::takes_alpha<R>) return R::forward(m, x[I]..., alpha);
        else return R::forward(m, x[I]...);
    }(std::make_index_sequence<Arity>{});
}

Interval elementwise_rule(Op op, IntervalMath& m, const Interval* x, double alpha) {
    switch (op) {
#define NNJIT_ELEMENTWISE(Name, name, arity) \
    case Op::Name: return apply_rule<rules::Name, arity>(m, x, alpha);
#include "nnjit/ops.def"
    default: throw InternalError(fmt::format("interval oracle: {} is not elementwise", op_name(op)));
    }
}

// ---- index arithmetic over row-major shapes -------------------------------------------------

std::vector<std::int64_t> strides_of(const Shape& shape) {
    std::vector<std::int64_t> s(static_cast<std::size_t>(shape.rank()), 1);
    for (int d = shape.rank() - 2; d >= 0; --d) s[static_cast<std::size_t>(d)] = s[static_cast<std::size_t>(d) + 1] * shape[d + 1];
    return s;
}

std::vector<std::int64_t> unravel(std::int64_t flat, const Shape& shape) {
    std::vector<std::int64_t> coord(static_cast<std::size_t>(shape.rank()));
    for (int d = shape.rank() - 1; d >= 0; --d) {
        coord[static_cast<std::size_t>(d)] = flat % shape[d];
        flat /= shape[d];
    }
    return coord;
}

// For each element of `out`, the element of `in` that NumPy broadcasting reads.
std::vector<std::size_t> broadcast_sources(const Shape& out, const Shape& in) {
    const auto in_strides = strides_of(in);
    const int shift = out.rank() - in.rank();
    std::vector<std::size_t> src(static_cast<std::size_t>(out.numel()));
    for (std::int64_t i = 0; i < out.numel(); ++i) {
        const auto coord = unravel(i, out);
        std::int64_t at = 0;
        for (int d = 0; d < in.rank(); ++d)
            if (in[d] != 1) at += coord[static_cast<std::size_t>(d + shift)] * in_strides[static_cast<std::size_t>(d)];
        src[static_cast<std::size_t>(i)] = static_cast<std::size_t>(at);
    }
    return src;
}

// ---- the node evaluators ----------------------------------------------------------------------

using Elements = std::vector<Interval>;

Elements points(const Tensor& t) {
    Elements e;
    for (double v : t.to_doubles()) e.push_back(point(v));
    return e;
}

// A sum of intervals as the engines may compute it in any order; `terms` gives each term's
// exact interval, `bound_terms` the number of roundings (gamma index).
struct SumAccumulator {
    ld lo = 0, hi = 0, magnitude = 0;
    bool nan = false, empty = false, inf = false;
    std::int64_t n = 0;

    void add(const Interval& t) {
        ++n;
        if (t.empty()) { empty = true; return; }
        nan |= t.nan;
        if (holds_inf(t)) { inf = true; return; }
        lo += t.lo;
        hi += t.hi;
        magnitude += std::max(std::fabs(t.lo), std::fabs(t.hi));
    }
    Interval result(const Format& f) const {
        if (empty) return nan_only();
        if (inf) return anything();
        const ld m = static_cast<ld>(n + 1) * f.unit_roundoff();
        const ld gamma = m / (1 - m);
        // A term or partial sum this large can overflow in the format, to either infinity, in
        // some order of summation: +inf + -inf is NaN (the error bound below assumes no overflow).
        if (magnitude * (1 + gamma) >= f.max_finite) return anything();
        const ld err = gamma * magnitude * (1 + kOracleSlack) + f.denorm_min;
        return widen({lo - err, hi + err, nan}, 0, f);
    }
};

Elements reduce(const Node& node, const Elements& x, const Format& f) {
    const Shape& in = node.input(0)->shape();
    const auto& axes = node.attrs().axes;
    std::vector<bool> reduced(static_cast<std::size_t>(in.rank()), false);
    for (auto a : axes) reduced[static_cast<std::size_t>(a)] = true;
    std::vector<SumAccumulator> acc(static_cast<std::size_t>(node.shape().numel()));
    for (std::int64_t i = 0; i < in.numel(); ++i) {
        const auto coord = unravel(i, in);
        std::int64_t at = 0;
        for (int d = 0; d < in.rank(); ++d)
            if (!reduced[static_cast<std::size_t>(d)]) at = at * in[d] + coord[static_cast<std::size_t>(d)];
        acc[static_cast<std::size_t>(at)].add(x[static_cast<std::size_t>(i)]);
    }
    Elements out;
    for (const auto& a : acc) {
        Interval s = a.result(f);
        if (node.op() == Op::Mean && !s.empty()) {
            const ld n = static_cast<ld>(a.n);
            s = widen({s.lo / n, s.hi / n, s.nan}, 1.5L, f);  // the scale 1/n, the product, the conversion
        }
        out.push_back(s);
    }
    return out;
}

// max or min: exact, so the bounds of the elements' bounds; NaN when an element may be NaN,
// only NaN when one is certainly NaN.
Elements extreme(const Node& node, const Elements& x) {
    const Shape& in = node.input(0)->shape();
    const auto& axes = node.attrs().axes;
    const bool is_max = node.op() == Op::Max;
    std::vector<bool> reduced(static_cast<std::size_t>(in.rank()), false);
    for (auto a : axes) reduced[static_cast<std::size_t>(a)] = true;
    const ld start = is_max ? -kInf : kInf;
    Elements out(static_cast<std::size_t>(node.shape().numel()), Interval{start, start, false});
    std::vector<bool> certainly_nan(out.size(), false);
    for (std::int64_t i = 0; i < in.numel(); ++i) {
        const auto coord = unravel(i, in);
        std::int64_t at = 0;
        for (int d = 0; d < in.rank(); ++d)
            if (!reduced[static_cast<std::size_t>(d)]) at = at * in[d] + coord[static_cast<std::size_t>(d)];
        Interval& o = out[static_cast<std::size_t>(at)];
        const Interval& e = x[static_cast<std::size_t>(i)];
        o.nan = o.nan || e.nan;
        if (e.empty()) certainly_nan[static_cast<std::size_t>(at)] = true;
        else if (is_max) o = {std::max(o.lo, e.lo), std::max(o.hi, e.hi), o.nan};
        else o = {std::min(o.lo, e.lo), std::min(o.hi, e.hi), o.nan};
    }
    for (std::size_t k = 0; k < out.size(); ++k)
        if (certainly_nan[k]) out[k] = nan_only();
    return out;
}

Elements matmul(const Node& node, const Elements& a, const Elements& b, const Format& f) {
    const std::int64_t m = node.input(0)->shape()[0], k = node.input(0)->shape()[1], n = node.input(1)->shape()[1];
    IntervalMath exact(Format{256, 0, kInf, true});  // products without rounding: the sum bound covers them
    Elements out;
    for (std::int64_t i = 0; i < m; ++i)
        for (std::int64_t j = 0; j < n; ++j) {
            SumAccumulator acc;
            for (std::int64_t t = 0; t < k; ++t)
                acc.add(exact.mul(a[static_cast<std::size_t>(i * k + t)], b[static_cast<std::size_t>(t * n + j)]));
            out.push_back(acc.result(f));
        }
    return out;
}

// softmax and log_softmax along one axis, as analysed in the header.
Elements normalize(const Node& node, const Elements& x, const Format& f) {
    const Shape& shape = node.shape();
    const int axis = static_cast<int>(node.attrs().axes.at(0));
    std::int64_t outer = 1, inner = 1;
    for (int d = 0; d < axis; ++d) outer *= shape[d];
    for (int d = axis + 1; d < shape.rank(); ++d) inner *= shape[d];
    const std::int64_t len = shape[axis];
    IntervalMath m(f);
    Elements out(x.size());
    for (std::int64_t o = 0; o < outer; ++o)
        for (std::int64_t i = 0; i < inner; ++i) {
            auto at = [&](std::int64_t a) { return static_cast<std::size_t>((o * len + a) * inner + i); };
            bool any_empty = false, unchecked = false;
            ld max_lo = -kInf, max_hi = -kInf;
            for (std::int64_t a = 0; a < len; ++a) {
                const Interval& v = x[at(a)];
                any_empty |= v.empty();
                unchecked |= v.nan || holds_inf(v);
                if (!v.empty()) {
                    max_lo = std::max(max_lo, v.lo);
                    max_hi = std::max(max_hi, v.hi);
                }
            }
            if (any_empty || unchecked) {
                for (std::int64_t a = 0; a < len; ++a) out[at(a)] = any_empty ? nan_only() : anything();
                continue;
            }
            Elements shifted, e;
            SumAccumulator total_acc;
            for (std::int64_t a = 0; a < len; ++a) {
                const Interval& v = x[at(a)];
                // x - max <= 0 whatever the values: the max is one of them.
                Interval s = widen({v.lo - max_hi, std::min<ld>(v.hi - max_lo, 0), false}, 0.5L, f);
                s.hi = std::min<ld>(s.hi, 0);
                shifted.push_back(s);
                e.push_back(m.exp(s));
                total_acc.add(e.back());
            }
            const Interval total = total_acc.result(f);
            const Interval log_total = m.log(total);
            for (std::int64_t a = 0; a < len; ++a) {
                const auto k = static_cast<std::size_t>(a);
                out[at(a)] = node.op() == Op::LogSoftmax ? m.sub(shifted[k], log_total)
                                                         : widen(m.div(e[k], total), 0.5L, f);  // maybe via 1/total
            }
        }
    return out;
}

Elements evaluate(const Node& node, const std::map<const Node*, Elements>& done, const Bindings& bindings) {
    const Format f = Format::of(node.dtype());
    auto in = [&](int k) -> const Elements& { return done.at(node.input(k)); };
    const Shape& shape = node.shape();
    switch (node.op()) {
    case Op::Input:
    case Op::Parameter: return points(bound_tensor(node, bindings));
    case Op::Constant: return Elements(static_cast<std::size_t>(shape.numel()), point(f.round(node.attrs().alpha)));
    case Op::Literal: return points(*node.attrs().literal);
    case Op::Cast: {
        Elements out;
        for (const auto& v : in(0)) out.push_back(widen(v, f.f64 ? 0 : 0.5L, f));
        return out;
    }
    case Op::BroadcastTo: {
        Elements out;
        for (auto s : broadcast_sources(shape, node.input(0)->shape())) out.push_back(in(0)[s]);
        return out;
    }
    case Op::Reshape: return in(0);
    case Op::Transpose: {
        const Shape& src = node.input(0)->shape();
        const auto src_strides = strides_of(src);
        const auto& perm = node.attrs().axes;
        Elements out;
        for (std::int64_t i = 0; i < shape.numel(); ++i) {
            const auto coord = unravel(i, shape);
            std::int64_t at = 0;
            for (int d = 0; d < shape.rank(); ++d)
                at += coord[static_cast<std::size_t>(d)] * src_strides[static_cast<std::size_t>(perm[static_cast<std::size_t>(d)])];
            out.push_back(in(0)[static_cast<std::size_t>(at)]);
        }
        return out;
    }
    case Op::Sum:
    case Op::Mean: return reduce(node, in(0), f);
    case Op::Max:
    case Op::Min: return extreme(node, in(0));
    case Op::MatMul: return matmul(node, in(0), in(1), f);
    case Op::Softmax:
    case Op::LogSoftmax: return normalize(node, in(0), f);
    default: break;
    }
    if (!is_elementwise(node.op()))
        throw InternalError(fmt::format("interval oracle: no model of {}", op_name(node.op())));
    IntervalMath m(f);
    const auto arity = node.inputs().size();
    std::vector<std::vector<std::size_t>> sources;
    for (std::size_t k = 0; k < arity; ++k) sources.push_back(broadcast_sources(shape, node.input(static_cast<int>(k))->shape()));
    Elements out;
    Interval x[3];
    for (std::int64_t i = 0; i < shape.numel(); ++i) {
        for (std::size_t k = 0; k < arity; ++k) x[k] = in(static_cast<int>(k))[sources[k][static_cast<std::size_t>(i)]];
        out.push_back(elementwise_rule(node.op(), m, x, node.attrs().alpha));
    }
    return out;
}

}  // namespace

bool Interval::contains(double v) const {
    if (std::isnan(v)) return nan;
    const auto x = static_cast<ld>(v);
    return !empty() && lo <= x && x <= hi;
}

std::string describe(const Interval& interval) {
    const std::string range = interval.empty() ? std::string("{}")
                                               : fmt::format("[{:.9g}, {:.9g}]", static_cast<double>(interval.lo),
                                                             static_cast<double>(interval.hi));
    return interval.nan ? range + " or NaN" : range;
}

std::vector<std::vector<Interval>> interval_bounds(const std::vector<Value>& outputs, const Bindings& bindings) {
    std::map<const Node*, Elements> done;
    for (const Node* node : reachable_nodes(outputs)) done[node] = evaluate(*node, done, bindings);
    std::vector<std::vector<Interval>> result;
    for (const Value& v : outputs) result.push_back(done.at(v.node()));
    return result;
}

}  // namespace nnjit::fuzz
