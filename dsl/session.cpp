// The statement evaluator behind nnjit-repl: bindings, commands, engines.
#include "nnjit/session.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>

#include <fmt/format.h>

#include "expr_builder.hpp"
#include "lexer.hpp"
#include "nnjit/autodiff.hpp"
#include "nnjit/graph_ops.hpp"
#include "nnjit/npy.hpp"

namespace nnjit {
namespace {

constexpr std::string_view kHelp = R"(statements (one a line, '#' starts a comment):
  NAME = EXPR          bind a tensor
  EXPR                 print its value
  :load NAME PATH      read a .npy file (float32/float64, C order, rank 0-4)
  :save NAME PATH      write a variable as .npy
  :backend jit|interp  engine for what follows (default jit)
  :seed N              seed of randn/rand (each call draws a fresh stream)
  :vars                list the variables
  :ir EXPR             the graph with the gradient of sum(EXPR) w.r.t. every variable it reads,
                       and how the JIT cuts it into kernels
  :llvm EXPR / :asm EXPR   the JIT's optimised LLVM IR / host assembly for that graph
  :time EXPR           run EXPR on both engines (median of several runs) and compare
  :dot EXPR PATH       write that graph as Graphviz, kernels as clusters
  :help, :quit
expressions: numbers, names, [lists], ( ), unary -, * / @ (matrix product), + -, and one
  comparison < > <= >= == != (1 where true, else 0; lowest precedence)
functions: relu leaky_relu(x, alpha=0.01) prelu(x, a) sigmoid tanh elu(x, alpha=1.0) silu
  gelu softplus erfc exp expm1 log log1p sqrt abs maximum(a, b) minimum(a, b) greater(a, b)
  equal(a, b) (1 where true, else 0) where(cond, a, b) (a where cond != 0, else b) clamp(x, lo, hi)
  sum mean max min (x[, axis=K][, keepdims=1]) softmax(x, axis=-1) log_softmax(x, axis=-1)
  transpose(x[, axes...]) (reverses the axes by default) reshape(x, d...) (one d may be -1)
  mse(y, t) cross_entropy(logits, t) float32(x) float64(x) grad(EXPR, NAME)
constructors (float32): zeros(d...) ones(d...) full(v, d...) randn(d...) rand(d...) arange(n)
  linspace(a, b, n)
)";

struct Built {
    std::unique_ptr<Graph> graph = std::make_unique<Graph>();
    std::vector<Value> outputs;
    std::vector<std::string> labels;  // what each output is
};

// Every node of the statement that holds data counts against the size limit, intermediates included
// (a broadcast of (100000, 1) with (1, 100000) is caught before anything runs).
void check_sizes(std::span<const Value> outputs, std::int64_t limit, int column) {
    for (const Node* n : reachable_nodes(outputs))
        if (n->op() != Op::BroadcastTo && n->shape().numel() > limit)  // a broadcast is a view
            throw EvalError(column, fmt::format("{} would make a tensor of shape {} ({} elements), more than the limit of {}",
                                                op_name(n->op()), n->shape(), n->shape().numel(), limit));
}

std::string format_duration(double seconds) {
    if (seconds < 1e-6) return fmt::format("{:.1f} ns", seconds * 1e9);
    if (seconds < 1e-3) return fmt::format("{:.2f} us", seconds * 1e6);
    if (seconds < 1.0) return fmt::format("{:.3f} ms", seconds * 1e3);
    return fmt::format("{:.3f} s", seconds);
}

// Median wall time of running `program`, at least `min_runs` times and until about `budget_s`.
double median_time(const Program& program, const Bindings& bindings, int min_runs, double budget_s, int& runs) {
    using Clock = std::chrono::steady_clock;
    (void)program.run(bindings);  // warm-up: caches, first-touch allocation
    std::vector<double> times;
    const auto start = Clock::now();
    while (static_cast<int>(times.size()) < min_runs ||
           (std::chrono::duration<double>(Clock::now() - start).count() < budget_s && times.size() < 1000)) {
        const auto t0 = Clock::now();
        (void)program.run(bindings);
        times.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
    }
    runs = static_cast<int>(times.size());
    std::nth_element(times.begin(), times.begin() + static_cast<std::ptrdiff_t>(times.size() / 2), times.end());
    return times[times.size() / 2];
}

// Kernel membership from the JIT's fused plan (jit/fusion.cpp's format_plan): a line
// `kernel K: ...` opens a kernel, its `compute %a=op %b=op ...` and `reduce %r = ...` lines
// name the nodes it computes; a `node %n = ...` line is a step run on its own. Empty when the
// plan says nothing of the kind.
struct Cluster {
    std::string label;
    std::vector<int> ids;
};

std::vector<int> ids_in(std::string_view line, bool first_only) {
    std::vector<int> ids;
    for (std::size_t p = line.find('%'); p != std::string_view::npos; p = line.find('%', p + 1)) {
        int id = 0;
        const auto [end, ec] = std::from_chars(line.data() + p + 1, line.data() + line.size(), id);
        if (ec == std::errc() && end != line.data() + p + 1) ids.push_back(id);
        if (first_only && !ids.empty()) break;
    }
    return ids;
}

std::vector<Cluster> kernels_from_plan(std::string_view plan) {
    std::vector<Cluster> clusters;
    bool in_kernel = false;
    while (!plan.empty()) {
        const auto eol = plan.find('\n');
        std::string_view line = plan.substr(0, eol);
        plan = eol == std::string_view::npos ? std::string_view() : plan.substr(eol + 1);
        while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
        if (line.starts_with("kernel ")) {
            clusters.push_back({std::string(line.substr(0, line.find(':'))), {}});
            in_kernel = true;
        } else if (line.starts_with("node ")) {
            const auto ids = ids_in(line, true);
            if (!ids.empty()) clusters.push_back({"not fused", ids});
            in_kernel = false;
        } else if (in_kernel && line.starts_with("compute ")) {
            for (int id : ids_in(line, false)) clusters.back().ids.push_back(id);
        } else if (in_kernel && line.starts_with("reduce ")) {
            for (int id : ids_in(line, true)) clusters.back().ids.push_back(id);
        }
    }
    std::erase_if(clusters, [](const Cluster& c) { return c.ids.empty(); });
    return clusters;
}

std::string dot_escape(std::string_view s) {
    std::string out;
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out;
}

std::string graphviz(const Built& b, const std::string& plan, const std::string& plan_error) {
    const auto nodes = reachable_nodes(b.outputs);
    auto kernels = kernels_from_plan(plan);
    std::string out = "digraph nnjit {\n  rankdir=TB;\n  node [shape=box, fontname=\"monospace\"];\n";
    if (kernels.empty()) {
        out += fmt::format("  // {}: one cluster per computed node\n",
                           plan_error.empty() ? "the fused plan names no kernel membership"
                                              : "the JIT is not available (" + plan_error + ")");
        for (const Node* n : nodes)
            if (op_info(n->op()).kind != OpKind::Source) kernels.push_back({std::string(op_name(n->op())), {n->id()}});
    }
    for (std::size_t k = 0; k < kernels.size(); ++k) {
        out += fmt::format("  subgraph cluster_{} {{\n    label=\"{}\";\n    style=rounded;\n", k,
                           dot_escape(kernels[k].label));
        for (int id : kernels[k].ids) out += fmt::format("    n{};\n", id);
        out += "  }\n";
    }
    for (const Node* n : nodes) {
        out += fmt::format("  n{} [label=\"{}\"];\n", n->id(), dot_escape(format_node(*n)));
        for (const Node* in : n->inputs()) out += fmt::format("  n{} -> n{};\n", in->id(), n->id());
    }
    for (std::size_t i = 0; i < b.outputs.size(); ++i) {
        out += fmt::format("  out{} [shape=plaintext, label=\"{}\"];\n  n{} -> out{};\n", i, dot_escape(b.labels[i]),
                           b.outputs[i].node()->id(), i);
    }
    return out + "}\n";
}

void write_text_file(const std::string& path, const std::string& text) {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (f == nullptr) throw UserError(fmt::format("cannot write '{}': {}", path, std::strerror(errno)));
    const bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
    if (std::fclose(f) != 0 || !ok) throw UserError(fmt::format("cannot write '{}'", path));
}

}  // namespace

Session::Session(SessionOptions options) : options_(options) {}

Outcome Session::execute(std::string_view line, std::string_view file, int line_number) {
    Outcome result;
    partial_.clear();
    try {
        const Statement s = parse_statement(line);
        try {
            result.output = run(s);
            if (s.kind == Statement::Kind::Command && s.name == "quit") result.quit = true;
        } catch (const EvalError& e) {
            result.error = format_diagnostic(file, line_number, line, e.column(), e.what(), false);
        } catch (const UserError& e) {
            const int column = s.expr ? s.expr->column : std::max(s.name_column, 1);
            result.error = format_diagnostic(file, line_number, line, column, e.what(), false);
        }
    } catch (const ParseError& e) {
        result.error = format_diagnostic(file, line_number, line, e.column(), e.what(), true);
    } catch (const std::bad_alloc&) {
        result.error = format_diagnostic(file, line_number, line, 1, "out of memory", false);
    } catch (const std::exception& e) {
        // Not the user's fault, but the session goes on.
        result.error = format_diagnostic(file, line_number, line, 1, fmt::format("internal error: {}", e.what()), false);
    }
    result.ok = result.error.empty();
    if (!result.ok) result.output = std::move(partial_);
    return result;
}

std::string Session::run(const Statement& s) {
    if (s.kind == Statement::Kind::Empty) return {};
    if (s.kind == Statement::Kind::Command) return run_command(s);

    Graph g;
    detail::BuildContext ctx{g, variables_, options_.seed, draws_, options_.max_elements};
    const Value y = detail::build_expression(*s.expr, ctx);
    check_sizes({&y, 1}, options_.max_elements, s.expr->column);
    auto program = compile({y}, options_.backend);
    Tensor value = program->run(variables_).at(0);
    if (s.kind == Statement::Kind::Assign) {
        variables_[s.name] = std::move(value);
        return {};
    }
    return fmt::format("{}\n", value);
}

std::string Session::run_command(const Statement& s) {
    const std::string& c = s.name;
    if (c == "help") return std::string(kHelp);
    if (c == "quit") return {};
    if (c == "vars") {
        if (variables_.empty()) return "(no variables)\n";
        std::string out;
        for (const auto& [name, t] : variables_) out += fmt::format("{}: {} {}\n", name, t.dtype(), t.shape());
        return out;
    }
    if (c == "backend") {
        if (s.words[0] == "jit") options_.backend = Backend::jit;
        else if (s.words[0] == "interp") options_.backend = Backend::interp;
        else throw EvalError(s.word_columns[0], fmt::format("unknown backend '{}': use jit or interp", detail::clip(s.words[0])));
        return {};
    }
    if (c == "seed") {
        const std::string& w = s.words[0];
        std::uint64_t seed = 0;
        const auto [end, ec] = std::from_chars(w.data(), w.data() + w.size(), seed);
        if (ec != std::errc() || end != w.data() + w.size())
            throw EvalError(s.word_columns[0], fmt::format("seed must be a non-negative integer, got '{}'", detail::clip(w)));
        options_.seed = seed;
        draws_ = 0;
        return {};
    }
    if (c == "load" || c == "save") {
        // Errors of the file itself point at the path.
        try {
            if (c == "load") {
                Tensor t = read_npy(s.words[1]);
                // The REPL's contract: rank 0 to 4 (the reader itself accepts more).
                if (t.rank() > 4)
                    throw EvalError(s.word_columns[1], fmt::format("{}: shape {} has rank {}; :load takes rank 0 to 4",
                                                                   s.words[1], t.shape(), t.rank()));
                if (t.numel() > options_.max_elements)
                    throw EvalError(s.word_columns[1], fmt::format("{}: {} elements, more than the limit of {}", s.words[1],
                                                                   t.numel(), options_.max_elements));
                variables_[s.words[0]] = std::move(t);
            } else {
                auto it = variables_.find(s.words[0]);
                if (it == variables_.end())
                    throw EvalError(s.word_columns[0], fmt::format("unknown name '{}'", detail::clip(s.words[0])));
                write_npy(s.words[1], it->second);
            }
        } catch (const EvalError&) {
            throw;
        } catch (const UserError& e) {
            throw EvalError(s.word_columns[1], e.what());
        }
        return {};
    }

    // The commands on an expression.
    Built b;
    detail::BuildContext ctx{*b.graph, variables_, options_.seed, draws_, options_.max_elements};
    const Value y = detail::build_expression(*s.expr, ctx);
    b.outputs.push_back(y);
    b.labels.push_back("value");
    if (c != "time") {
        // The gradient of sum(EXPR) with respect to every variable it reads.
        std::vector<Value> wrt;
        for (const Node* n : reachable_nodes({&y, 1}))
            if (n->op() == Op::Input) {
                wrt.emplace_back(*b.graph, n);
                b.labels.push_back(fmt::format("grad {}", n->attrs().name));
            }
        for (const Value& gx : grad(y, wrt)) b.outputs.push_back(gx);
    }
    check_sizes(b.outputs, options_.max_elements, s.expr->column);

    if (c == "ir") {
        std::string out = "graph:\n" + format_graph(b.outputs);
        for (std::size_t i = 0; i < b.labels.size(); ++i) out += fmt::format("  out{}: {}\n", i, b.labels[i]);
        try {
            out += "kernels:\n" + inspect_jit(b.outputs).fused_plan;
            if (!out.ends_with('\n')) out += '\n';
        } catch (const UserError& e) {
            out += fmt::format("(no kernels: {})\n", e.what());
        }
        return out;
    }
    if (c == "llvm" || c == "asm") {
        const JitReport report = inspect_jit(b.outputs);
        std::string out = c == "llvm" ? report.llvm_ir : report.assembly;
        if (!out.ends_with('\n')) out += '\n';
        return out;
    }
    if (c == "dot") {
        std::string plan, plan_error;
        try {
            plan = inspect_jit(b.outputs).fused_plan;
        } catch (const UserError& e) {
            plan_error = e.what();
        }
        write_text_file(s.words[0], graphviz(b, plan, plan_error));
        return fmt::format("wrote {}\n", s.words[0]);
    }
    if (c == "time") {
        int interp_runs = 0, jit_runs = 0;
        const auto interp = compile(b.outputs, Backend::interp);
        const double t_interp = median_time(*interp, variables_, options_.time_min_runs, options_.time_budget_s, interp_runs);
        std::string out = fmt::format("interp: {} (median of {})\n", format_duration(t_interp), interp_runs);
        partial_ = out;  // shown even if the JIT fails
        const auto jit = compile(b.outputs, Backend::jit);
        const double t_jit = median_time(*jit, variables_, options_.time_min_runs, options_.time_budget_s, jit_runs);
        return out + fmt::format("jit:    {} (median of {})\ninterp/jit: {:.2f}x\n", format_duration(t_jit), jit_runs,
                                 t_interp / t_jit);
    }
    throw InternalError(fmt::format("command :{} has no implementation", c));
}

}  // namespace nnjit
