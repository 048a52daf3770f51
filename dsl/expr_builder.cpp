// The evaluator of expressions into graph nodes, and the table of built-in functions.
#include "expr_builder.hpp"

#include <cmath>
#include <functional>
#include <limits>
#include <optional>

#include <fmt/format.h>

#include "lexer.hpp"
#include "nnjit/autodiff.hpp"
#include "nnjit/graph_ops.hpp"

namespace nnjit::detail {
namespace {

// A number until it meets a tensor.
struct Operand {
    std::optional<double> number;
    Value value;
    int column = 0;
};

class Builder;

// The arguments of one call, matched to the function's parameters.
struct Args {
    Builder& b;
    const Expr& call;
    std::vector<Operand> values;                 // by parameter position (variadic: all given)
    std::vector<bool> given;

    bool has(std::size_t i) const { return i < given.size() && given[i]; }
    Value tensor(std::size_t i) const;
    Value tensor_like(std::size_t i, const Value& like) const;
    // Argument i as a tensor; a number takes the dtype of the first tensor among the arguments.
    Value operand(std::size_t i) const;
    double number(std::size_t i, std::string_view what) const;
    double number_or(std::size_t i, std::string_view what, double fallback) const {
        return has(i) ? number(i, what) : fallback;
    }
    std::int64_t integer(std::size_t i, std::string_view what, std::int64_t lo, std::int64_t hi) const;
    // Arguments from..end as a shape; with infer_one, one of them may be -1: the dimension that
    // makes the shape hold as many elements as argument 0 (reshape's rule, as in NumPy).
    Shape dims(std::size_t from, bool infer_one = false) const;
};

struct Builtin {
    std::string_view name;
    std::vector<std::string_view> params;
    std::size_t required;
    bool variadic;  // trailing dimensions
    std::function<Operand(Args&)> fn;
};

Operand tensor_result(Value v) { return Operand{std::nullopt, v, 0}; }

class Builder {
public:
    explicit Builder(BuildContext& ctx) : ctx_(ctx) {}

    Operand eval(const Expr& e) {
        try {
            Operand r = eval_unchecked(e);
            r.column = e.column;
            return r;
        } catch (const EvalError&) {
            throw;
        } catch (const UserError& err) {
            throw EvalError(e.column, err.what());
        }
    }

    Value to_value(const Operand& o, DType dtype = DType::f32) {
        return o.number ? ctx_.graph.constant(*o.number, dtype) : o.value;
    }

    BuildContext& ctx() { return ctx_; }

    Value literal(Tensor t) { return ctx_.graph.literal(std::move(t)); }
    void check_size(const Shape& s, std::string_view what) const {
        if (s.numel() > ctx_.max_elements)
            throw UserError(fmt::format("{}: shape {} has {} elements, more than the limit of {}", what, s, s.numel(),
                                        ctx_.max_elements));
    }
    std::uint64_t next_seed() {
        // splitmix64 of (seed, draw number): each call gets an independent, reproducible stream.
        std::uint64_t z = ctx_.seed + 0x9e3779b97f4a7c15ULL * (++ctx_.draws);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }

private:
    Operand eval_unchecked(const Expr& e);
    Operand eval_list(const Expr& e);
    Operand eval_binary(const Expr& e);
    Operand compare(const Expr& e, const Operand& a, const Operand& b);
    Operand eval_call(const Expr& e);

    BuildContext& ctx_;
};

Value Args::tensor(std::size_t i) const { return b.to_value(values[i]); }

Value Args::tensor_like(std::size_t i, const Value& like) const { return b.to_value(values[i], like.dtype()); }

Value Args::operand(std::size_t i) const {
    for (const Operand& o : values)
        if (!o.number) return tensor_like(i, o.value);
    return tensor(i);
}

double Args::number(std::size_t i, std::string_view what) const {
    const Operand& o = values[i];
    if (!o.number) throw EvalError(o.column, fmt::format("{}: {} must be a number, got a tensor", call.name, what));
    return *o.number;
}

std::int64_t Args::integer(std::size_t i, std::string_view what, std::int64_t lo, std::int64_t hi) const {
    const double v = number(i, what);
    if (!(v >= static_cast<double>(lo) && v <= static_cast<double>(hi)) || v != std::trunc(v))
        throw EvalError(values[i].column,
                        fmt::format("{}: {} must be an integer from {} to {}, got {}", call.name, what, lo, hi, v));
    return static_cast<std::int64_t>(v);
}

// The product of dimensions each at most `limit`, or limit + 1 once it is larger (it cannot
// overflow before: each factor is at most limit).
std::int64_t capped_product(const std::vector<std::int64_t>& d, std::int64_t limit) {
    std::int64_t n = 1;
    for (auto x : d) {
        if (x != 0 && n > limit / x) n = limit + 1;
        else n *= x;
    }
    return n;
}

Shape Args::dims(std::size_t from, bool infer_one) const {
    std::vector<std::int64_t> d;
    std::optional<std::size_t> inferred;
    for (std::size_t i = from; i < values.size(); ++i) {
        if (d.size() >= static_cast<std::size_t>(Shape::kMaxRank))
            throw EvalError(values[i].column, fmt::format("{}: at most {} dimensions", call.name, Shape::kMaxRank));
        const std::int64_t v = integer(i, "a dimension", infer_one ? -1 : 0, b.ctx().max_elements);
        if (v == -1) {
            if (inferred) throw EvalError(values[i].column, fmt::format("{}: only one dimension can be -1", call.name));
            inferred = d.size();
        }
        d.push_back(v == -1 ? 1 : v);
    }
    const std::int64_t n = capped_product(d, b.ctx().max_elements);
    if (n > b.ctx().max_elements)
        throw UserError(fmt::format("{}: ({}) is more than the limit of {} elements", call.name, fmt::join(d, ", "),
                                    b.ctx().max_elements));
    if (inferred) {
        const std::int64_t total = tensor(0).shape().numel();
        if (n == 0 || total % n != 0) {
            d[*inferred] = -1;
            throw UserError(fmt::format("{}: no size for the -1 in ({}) holds {} elements", call.name,
                                        fmt::join(d, ", "), total));
        }
        d[*inferred] = total / n;
    }
    return Shape(std::move(d));
}

template <Value (*F)(Value)> Builtin unary(std::string_view name) {
    return {name, {"x"}, 1, false, [](Args& a) { return tensor_result(F(a.tensor(0))); }};
}
template <Value (*F)(Value, Value)> Builtin binary(std::string_view name, std::string_view p0, std::string_view p1) {
    return {name, {p0, p1}, 2, false, [](Args& a) { return tensor_result(F(a.operand(0), a.operand(1))); }};
}

Value exp_(Value x) { return nnjit::exp(x); }
Value log_(Value x) { return nnjit::log(x); }
Value sqrt_(Value x) { return nnjit::sqrt(x); }
Value abs_(Value x) { return nnjit::abs(x); }
Value expm1_(Value x) { return nnjit::expm1(x); }
Value log1p_(Value x) { return nnjit::log1p(x); }
Value tanh_(Value x) { return nnjit::tanh(x); }

Operand reduce(Args& a, Value (*all)(Value, bool), Value (*one)(Value, std::int64_t, bool)) {
    Value x = a.tensor(0);
    const bool keepdims = a.has(2) && a.integer(2, "keepdims", 0, 1) == 1;
    if (!a.has(1)) return tensor_result(all(x, keepdims));
    return tensor_result(one(x, a.integer(1, "axis", -Shape::kMaxRank, Shape::kMaxRank), keepdims));
}

// transpose(x) reverses the axes; transpose(x, p0, p1, ...) puts axis p_i of x at position i.
Operand transpose_call(Args& a) {
    Value x = a.tensor(0);
    if (a.values.size() == 1) return tensor_result(transpose(x));
    std::vector<std::int64_t> perm;
    for (std::size_t i = 1; i < a.values.size(); ++i) perm.push_back(a.integer(i, "an axis", 0, Shape::kMaxRank));
    return tensor_result(transpose(x, std::move(perm)));
}

Operand random_tensor(Args& a, bool normal) {
    const Shape shape = a.dims(0);
    a.b.check_size(shape, a.call.name);
    const std::uint64_t seed = a.b.next_seed();
    return tensor_result(
        a.b.literal(normal ? Tensor::randn(DType::f32, shape, seed) : Tensor::rand(DType::f32, shape, seed)));
}

const std::vector<Builtin>& builtins() {
    static const std::vector<Builtin> table = {
        unary<relu>("relu"),
        {"leaky_relu", {"x", "alpha"}, 1, false,
         [](Args& a) { return tensor_result(leaky_relu(a.tensor(0), a.number_or(1, "alpha", 0.01))); }},
        binary<prelu>("prelu", "x", "a"),
        unary<sigmoid>("sigmoid"),
        unary<tanh_>("tanh"),
        {"elu", {"x", "alpha"}, 1, false,
         [](Args& a) { return tensor_result(elu(a.tensor(0), a.number_or(1, "alpha", 1.0))); }},
        unary<silu>("silu"),
        unary<gelu>("gelu"),
        unary<softplus>("softplus"),
        unary<erfc>("erfc"),
        unary<expm1_>("expm1"),
        unary<log1p_>("log1p"),
        unary<exp_>("exp"),
        unary<log_>("log"),
        unary<sqrt_>("sqrt"),
        unary<abs_>("abs"),
        binary<maximum>("maximum", "a", "b"),
        binary<minimum>("minimum", "a", "b"),
        binary<greater>("greater", "a", "b"),
        binary<equal>("equal", "a", "b"),
        {"clamp", {"x", "lo", "hi"}, 3, false,
         [](Args& a) { return tensor_result(clamp(a.tensor(0), a.number(1, "lo"), a.number(2, "hi"))); }},
        {"where", {"cond", "a", "b"}, 3, false,
         [](Args& a) { return tensor_result(where(a.operand(0), a.operand(1), a.operand(2))); }},
        {"sum", {"x", "axis", "keepdims"}, 1, false, [](Args& a) { return reduce(a, &nnjit::sum, &nnjit::sum); }},
        {"mean", {"x", "axis", "keepdims"}, 1, false, [](Args& a) { return reduce(a, &nnjit::mean, &nnjit::mean); }},
        {"max", {"x", "axis", "keepdims"}, 1, false, [](Args& a) { return reduce(a, &nnjit::max, &nnjit::max); }},
        {"min", {"x", "axis", "keepdims"}, 1, false, [](Args& a) { return reduce(a, &nnjit::min, &nnjit::min); }},
        {"transpose", {"x"}, 1, true, transpose_call},
        {"reshape", {"x"}, 1, true,
         [](Args& a) { return tensor_result(reshape(a.tensor(0), a.dims(1, true))); }},
        {"softmax", {"x", "axis"}, 1, false,
         [](Args& a) {
             const auto axis = a.has(1) ? a.integer(1, "axis", -Shape::kMaxRank, Shape::kMaxRank) : -1;
             return tensor_result(softmax(a.tensor(0), axis));
         }},
        {"log_softmax", {"x", "axis"}, 1, false,
         [](Args& a) {
             const auto axis = a.has(1) ? a.integer(1, "axis", -Shape::kMaxRank, Shape::kMaxRank) : -1;
             return tensor_result(log_softmax(a.tensor(0), axis));
         }},
        binary<mse>("mse", "y", "t"),
        binary<cross_entropy>("cross_entropy", "logits", "t"),
        {"float32", {"x"}, 1, false, [](Args& a) { return tensor_result(cast(a.tensor(0), DType::f32)); }},
        {"float64", {"x"}, 1, false, [](Args& a) { return tensor_result(cast(a.tensor(0), DType::f64)); }},
        {"zeros", {}, 0, true,
         [](Args& a) { return tensor_result(a.b.literal(Tensor::zeros(DType::f32, a.dims(0)))); }},
        {"ones", {}, 0, true,
         [](Args& a) { return tensor_result(a.b.literal(Tensor::full(DType::f32, a.dims(0), 1.0))); }},
        {"full", {"v"}, 1, true,
         [](Args& a) {
             const double v = a.number(0, "the value");
             return tensor_result(a.b.literal(Tensor::full(DType::f32, a.dims(1), v)));
         }},
        {"randn", {}, 0, true, [](Args& a) { return random_tensor(a, true); }},
        {"rand", {}, 0, true, [](Args& a) { return random_tensor(a, false); }},
        {"arange", {"n"}, 1, false,
         [](Args& a) {
             const auto n = a.integer(0, "n", 0, a.b.ctx().max_elements);
             return tensor_result(a.b.literal(Tensor::arange(DType::f32, n)));
         }},
        {"linspace", {"a", "b", "n"}, 3, false,
         [](Args& a) {
             const double lo = a.number(0, "a"), hi = a.number(1, "b");
             const auto n = a.integer(2, "n", 0, a.b.ctx().max_elements);
             return tensor_result(a.b.literal(Tensor::linspace(DType::f32, lo, hi, n)));
         }},
    };
    return table;
}

const Builtin* find_builtin(std::string_view name) {
    for (const Builtin& f : builtins())
        if (f.name == name) return &f;
    return nullptr;
}

Operand Builder::eval_unchecked(const Expr& e) {
    switch (e.kind) {
    case Expr::Kind::Number: return Operand{e.number, {}, e.column};
    case Expr::Kind::Name: {
        auto it = ctx_.variables.find(e.name);
        if (it == ctx_.variables.end()) {
            if (e.name == "grad" || find_builtin(e.name) != nullptr)
                throw UserError(fmt::format("'{}' is a function: call it as {}(...)", e.name, e.name));
            throw UserError(fmt::format("unknown name '{}'", clip(e.name)));
        }
        return tensor_result(ctx_.graph.input(e.name, it->second.dtype(), it->second.shape()));
    }
    case Expr::Kind::List: return eval_list(e);
    case Expr::Kind::Unary: {
        Operand x = eval(*e.args[0]);
        if (x.number) return Operand{-*x.number, {}, e.column};
        return tensor_result(neg(x.value));
    }
    case Expr::Kind::Binary: return eval_binary(e);
    case Expr::Kind::Call: return eval_call(e);
    }
    throw InternalError("unknown expression kind");
}

// A nested list of numbers: rectangular, float32.
Operand Builder::eval_list(const Expr& e) {
    std::vector<std::int64_t> dims;
    std::vector<float> values;
    // Walks the nesting; `depth` is the list level. The first path to a number fixes the shape.
    std::function<void(const Expr&, std::size_t)> walk = [&](const Expr& node, std::size_t depth) {
        if (node.kind == Expr::Kind::List) {
            const auto n = static_cast<std::int64_t>(node.args.size());
            if (depth == dims.size()) {
                if (!values.empty())
                    throw EvalError(node.column, "list items must all be numbers or all be lists of the same length");
                if (dims.size() >= static_cast<std::size_t>(Shape::kMaxRank))
                    throw EvalError(node.column, fmt::format("a list literal has at most {} levels", Shape::kMaxRank));
                dims.push_back(n);
            } else if (dims[depth] != n) {
                throw EvalError(node.column, fmt::format("ragged list: {} items where the first list at this level has {}",
                                                         n, dims[depth]));
            }
            for (const auto& item : node.args) walk(*item, depth + 1);
            return;
        }
        if (depth != dims.size())
            throw EvalError(node.column, "list items must all be numbers or all be lists of the same length");
        Operand v = eval(node);
        if (!v.number) throw EvalError(node.column, "list items must be numbers");
        values.push_back(static_cast<float>(*v.number));
    };
    walk(e, 0);
    // An empty inner list leaves deeper levels unknown: [[]] is (1, 0).
    Shape shape(dims);
    return tensor_result(literal(Tensor::from<float>(shape, std::span<const float>(values))));
}

Operand Builder::eval_binary(const Expr& e) {
    Operand a = eval(*e.args[0]);
    Operand b = eval(*e.args[1]);
    if (is_comparison(e.name)) return compare(e, a, b);
    const char op = e.name[0];
    if (a.number && b.number) {
        const double x = *a.number, y = *b.number;
        switch (op) {
        case '+': return Operand{x + y, {}, e.column};
        case '-': return Operand{x - y, {}, e.column};
        case '*': return Operand{x * y, {}, e.column};
        case '/': return Operand{x / y, {}, e.column};
        default: break;  // '@' needs tensors: the factory says why
        }
    }
    const DType dtype = a.number ? (b.number ? DType::f32 : b.value.dtype()) : a.value.dtype();
    const Value x = to_value(a, dtype), y = to_value(b, dtype);
    switch (op) {
    case '+': return tensor_result(x + y);
    case '-': return tensor_result(x - y);
    case '*': return tensor_result(x * y);
    case '/': return tensor_result(x / y);
    case '@': return tensor_result(matmul(x, y));
    default: throw InternalError(fmt::format("unknown operator {}", e.name));
    }
}

// a < b and the like, 1 where true and 0 where not (a NaN compares false but for !=), from
// the graph's greater and equal: a >= b is greater(a, b) + equal(a, b), the two never both 1.
Operand Builder::compare(const Expr& e, const Operand& a, const Operand& b) {
    const std::string& op = e.name;
    if (a.number && b.number) {
        const double x = *a.number, y = *b.number;
        const bool r = op == "<" ? x < y : op == ">" ? x > y : op == "<=" ? x <= y : op == ">=" ? x >= y
                     : op == "==" ? x == y : x != y;
        return Operand{r ? 1.0 : 0.0, {}, e.column};
    }
    const DType dtype = a.number ? b.value.dtype() : a.value.dtype();
    const Value x = to_value(a, dtype), y = to_value(b, dtype);
    (void)broadcast_shapes(x.shape(), y.shape(), op);  // a mismatch named as written, not as greater(y, x)
    if (op == ">") return tensor_result(greater(x, y));
    if (op == "<") return tensor_result(greater(y, x));
    if (op == ">=") return tensor_result(greater(x, y) + equal(x, y));
    if (op == "<=") return tensor_result(greater(y, x) + equal(x, y));
    if (op == "==") return tensor_result(equal(x, y));
    if (op == "!=") return tensor_result(1.0 - equal(x, y));
    throw InternalError(fmt::format("unknown comparison {}", op));
}

Operand Builder::eval_call(const Expr& e) {
    if (e.name == "grad") {
        if (e.args.size() != 2 || !e.kwargs.empty())
            throw UserError(fmt::format("grad takes 2 arguments (EXPR, NAME), got {}", e.args.size() + e.kwargs.size()));
        const Expr& wrt = *e.args[1];
        if (wrt.kind != Expr::Kind::Name)
            throw EvalError(wrt.column, "grad: the second argument must be the name of a bound tensor");
        auto it = ctx_.variables.find(wrt.name);
        if (it == ctx_.variables.end()) throw EvalError(wrt.column, fmt::format("unknown name '{}'", clip(wrt.name)));
        const Value y = to_value(eval(*e.args[0]));
        const Value x = ctx_.graph.input(wrt.name, it->second.dtype(), it->second.shape());
        return tensor_result(nnjit::grad(y, x));
    }
    const Builtin* f = find_builtin(e.name);
    if (f == nullptr) throw UserError(fmt::format("unknown function '{}'", clip(e.name)));

    Args args{*this, e, {}, {}};
    const std::size_t nparams = f->params.size();
    if (!f->variadic && e.args.size() > nparams)
        throw UserError(fmt::format("{} takes {} argument{}, got {}", f->name,
                                    nparams == f->required ? fmt::format("{}", nparams)
                                                           : fmt::format("{} to {}", f->required, nparams),
                                    nparams == 1 ? "" : "s", e.args.size()));
    args.values.resize(std::max(nparams, e.args.size()));
    args.given.resize(args.values.size(), false);
    for (std::size_t i = 0; i < e.args.size(); ++i) {
        args.values[i] = eval(*e.args[i]);
        args.given[i] = true;
    }
    for (std::size_t k = 0; k < e.kwargs.size(); ++k) {
        const auto& [key, value] = e.kwargs[k];
        std::size_t i = 0;
        while (i < nparams && f->params[i] != key) ++i;
        if (i == nparams)
            throw EvalError(e.kwarg_columns[k], fmt::format("{} has no argument '{}'", f->name, clip(key)));
        if (args.given[i])
            throw EvalError(e.kwarg_columns[k], fmt::format("{}: argument '{}' given twice", f->name, key));
        args.values[i] = eval(*value);
        args.given[i] = true;
    }
    for (std::size_t i = 0; i < f->required; ++i)
        if (!args.given[i])
            throw UserError(fmt::format("{}: missing argument '{}'", f->name, f->params[i]));
    return f->fn(args);
}

}  // namespace

Value build_expression(const Expr& e, BuildContext& ctx) {
    Builder b(ctx);
    return b.to_value(b.eval(e));
}

}  // namespace nnjit::detail
