// A recursive-descent parser for the text DSL (grammar in parser.hpp). Recursion is bounded
// twice: by the nesting of brackets and unary minus while parsing, and by the height of the
// tree built (a left-associative chain `1+1+...` is deep without any nesting).
#include "nnjit/parser.hpp"

#include <algorithm>
#include <cctype>
#include <deque>

#include <fmt/format.h>

#include "lexer.hpp"

namespace nnjit {
namespace {

using detail::clip;
using detail::Lexer;
using detail::Token;

std::string describe(const Token& t) {
    switch (t.kind) {
    case Token::Kind::End: return "end of line";
    case Token::Kind::Number: return fmt::format("number '{}'", clip(t.text));
    case Token::Kind::Name: return fmt::format("name '{}'", clip(t.text));
    case Token::Kind::Punct: return fmt::format("'{}'", t.text);
    }
    return "token";
}

class Parser {
public:
    Parser(std::string_view text, int first_column) : lexer_(text, first_column) {}

    ExprPtr expression() {
        if (++nesting_ > kMaxExprDepth) too_deep(peek().column);
        ExprPtr lhs = sum();
        if (is_comparison(peek())) {
            const Token op = take();
            lhs = binary(op, std::move(lhs), sum());
            // Python would read a < b < c as (a < b) and (b < c), C as (a < b) < c: neither is
            // obvious, so neither is guessed.
            if (is_comparison(peek()))
                throw ParseError(peek().column,
                                 fmt::format("comparisons do not chain: write (a {} b) * (b {} c) for both", op.text,
                                             peek().text));
        }
        --nesting_;
        return lhs;
    }

    const Token& peek(std::size_t k = 0) {
        while (ahead_.size() <= k) ahead_.push_back(lexer_.next());
        return ahead_[k];
    }
    Token take() {
        Token t = peek();
        ahead_.pop_front();
        return t;
    }
    void expect_end(std::string_view after) {
        const Token& t = peek();
        if (t.kind != Token::Kind::End)
            throw ParseError(t.column, fmt::format("unexpected {} after {}", describe(t), after));
    }

private:
    static bool is_punct(const Token& t, std::string_view p) { return t.kind == Token::Kind::Punct && t.text == p; }
    static bool is_comparison(const Token& t) { return t.kind == Token::Kind::Punct && nnjit::is_comparison(t.text); }

    [[noreturn]] static void too_deep(int column) {
        throw ParseError(column, fmt::format("expression nested too deeply (the limit is {} levels)", kMaxExprDepth));
    }

    static ExprPtr node(Expr::Kind kind, int column) {
        auto e = std::make_unique<Expr>();
        e->kind = kind;
        e->column = column;
        return e;
    }
    static void adopt(Expr& parent, ExprPtr child) {
        parent.depth = std::max(parent.depth, child->depth + 1);
        if (parent.depth > kMaxExprDepth) too_deep(parent.column);
        parent.args.push_back(std::move(child));
    }
    static ExprPtr binary(const Token& op, ExprPtr lhs, ExprPtr rhs) {
        ExprPtr e = node(Expr::Kind::Binary, op.column);
        e->name = std::string(op.text);
        adopt(*e, std::move(lhs));
        adopt(*e, std::move(rhs));
        return e;
    }

    ExprPtr sum() {
        ExprPtr lhs = term();
        while (is_punct(peek(), "+") || is_punct(peek(), "-")) {
            const Token op = take();
            lhs = binary(op, std::move(lhs), term());
        }
        return lhs;
    }

    ExprPtr term() {
        ExprPtr lhs = unary();
        while (is_punct(peek(), "*") || is_punct(peek(), "/") || is_punct(peek(), "@")) {
            const Token op = take();
            lhs = binary(op, std::move(lhs), unary());
        }
        return lhs;
    }

    ExprPtr unary() {
        if (!is_punct(peek(), "-")) return primary();
        const Token op = take();
        if (++nesting_ > kMaxExprDepth) too_deep(op.column);
        ExprPtr e = node(Expr::Kind::Unary, op.column);
        e->name = std::string(op.text);
        adopt(*e, unary());
        --nesting_;
        return e;
    }

    ExprPtr primary() {
        const Token t = take();
        switch (t.kind) {
        case Token::Kind::Number: {
            ExprPtr e = node(Expr::Kind::Number, t.column);
            e->number = t.number;
            return e;
        }
        case Token::Kind::Name:
            if (is_punct(peek(), "(")) return call(t);
            {
                ExprPtr e = node(Expr::Kind::Name, t.column);
                e->name = std::string(t.text);
                return e;
            }
        case Token::Kind::Punct:
            if (t.text == "(") {
                ExprPtr e = expression();
                close(t, ")");
                return e;
            }
            if (t.text == "[") return list(t);
            break;
        case Token::Kind::End: break;
        }
        throw ParseError(t.column, fmt::format("expected an expression, got {}", describe(t)));
    }

    void close(const Token& open, std::string_view closer) {
        const Token t = take();
        if (is_punct(t, closer)) return;
        if (t.kind == Token::Kind::End)
            throw ParseError(open.column, fmt::format("'{}' is never closed", open.text));
        throw ParseError(t.column, fmt::format("expected '{}' or ',', got {}", closer, describe(t)));
    }

    ExprPtr list(const Token& open) {
        ExprPtr e = node(Expr::Kind::List, open.column);
        if (++nesting_ > kMaxExprDepth) too_deep(open.column);
        if (!is_punct(peek(), "]")) {
            for (;;) {
                adopt(*e, expression());
                if (!is_punct(peek(), ",")) break;
                take();
                if (is_punct(peek(), "]")) break;  // a trailing comma, as Python allows
            }
        }
        close(open, "]");
        --nesting_;
        return e;
    }

    ExprPtr call(const Token& name) {
        ExprPtr e = node(Expr::Kind::Call, name.column);
        e->name = std::string(name.text);
        const Token open = take();
        if (++nesting_ > kMaxExprDepth) too_deep(open.column);
        if (!is_punct(peek(), ")")) {
            for (;;) {
                if (peek().kind == Token::Kind::Name && is_punct(peek(1), "=")) {
                    const Token key = take();
                    take();
                    const std::string key_name(key.text);
                    for (const auto& [k, v] : e->kwargs)
                        if (k == key_name)
                            throw ParseError(key.column, fmt::format("keyword argument '{}' repeated", clip(k)));
                    ExprPtr value = expression();
                    e->depth = std::max(e->depth, value->depth + 1);
                    if (e->depth > kMaxExprDepth) too_deep(e->column);
                    e->kwargs.emplace_back(key_name, std::move(value));
                    e->kwarg_columns.push_back(key.column);
                } else {
                    if (!e->kwargs.empty())
                        throw ParseError(peek().column, "positional argument follows keyword argument");
                    adopt(*e, expression());
                }
                if (!is_punct(peek(), ",")) break;
                take();
                if (is_punct(peek(), ")")) break;
            }
        }
        close(open, ")");
        --nesting_;
        return e;
    }

    Lexer lexer_;
    std::deque<Token> ahead_;
    int nesting_ = 0;
};

bool is_name(std::string_view w) {
    if (w.empty() || !(std::isalpha(static_cast<unsigned char>(w[0])) || w[0] == '_')) return false;
    return std::all_of(w.begin(), w.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

// Splits `line` from `pos` into whitespace-separated words (up to a '#' that starts a word).
void split_words(std::string_view line, std::size_t pos, Statement& s) {
    while (pos < line.size()) {
        while (pos < line.size() && (line[pos] == ' ' || line[pos] == '\t')) ++pos;
        if (pos >= line.size() || line[pos] == '#') break;
        const std::size_t start = pos;
        while (pos < line.size() && line[pos] != ' ' && line[pos] != '\t') ++pos;
        s.words.emplace_back(line.substr(start, pos - start));
        s.word_columns.push_back(static_cast<int>(start) + 1);
    }
}

struct CommandForm {
    std::string_view name;
    bool takes_expr;
    int words;               // words after the expression (or the only arguments)
    std::string_view usage;
};

constexpr CommandForm kCommands[] = {
    {"load", false, 2, ":load NAME PATH"}, {"save", false, 2, ":save NAME PATH"},
    {"backend", false, 1, ":backend jit|interp"}, {"seed", false, 1, ":seed N"},
    {"vars", false, 0, ":vars"}, {"help", false, 0, ":help"}, {"quit", false, 0, ":quit"},
    {"ir", true, 0, ":ir EXPR"}, {"llvm", true, 0, ":llvm EXPR"}, {"asm", true, 0, ":asm EXPR"},
    {"time", true, 0, ":time EXPR"}, {"dot", true, 1, ":dot EXPR PATH"},
};

Statement parse_command(std::string_view line, std::size_t colon) {
    Statement s;
    s.kind = Statement::Kind::Command;
    std::size_t pos = colon + 1;
    while (pos < line.size() && line[pos] != ' ' && line[pos] != '\t') ++pos;
    s.name = std::string(line.substr(colon + 1, pos - colon - 1));
    s.name_column = static_cast<int>(colon) + 1;
    const CommandForm* form = nullptr;
    for (const auto& f : kCommands)
        if (f.name == s.name) form = &f;
    if (form == nullptr)
        throw ParseError(s.name_column, fmt::format("unknown command ':{}' (:help lists them)", clip(s.name)));

    if (!form->takes_expr) {
        split_words(line, pos, s);
        // :load/:save take the rest of the line as the path, so that it may contain spaces.
        if ((s.name == "load" || s.name == "save") && s.words.size() > 2) {
            const auto start = static_cast<std::size_t>(s.word_columns[1] - 1);
            std::string_view rest = line.substr(start);
            while (!rest.empty() && (rest.back() == ' ' || rest.back() == '\t')) rest.remove_suffix(1);
            s.words.resize(2);
            s.words[1] = std::string(rest);
        }
        if (static_cast<int>(s.words.size()) != form->words) {
            const int col = s.words.size() > static_cast<std::size_t>(form->words)
                                ? s.word_columns[static_cast<std::size_t>(form->words)]
                                : static_cast<int>(line.size()) + 1;
            throw ParseError(col, fmt::format("usage: {}", form->usage));
        }
        if ((s.name == "load" || s.name == "save") && !is_name(s.words[0]))
            throw ParseError(s.word_columns[0], fmt::format("'{}' is not a variable name", clip(s.words[0])));
        return s;
    }

    // The expression runs to the end of the line; for :dot, up to the last word (the path).
    std::string_view rest = line.substr(pos);
    if (const auto hash = rest.find('#'); hash != std::string_view::npos) rest = rest.substr(0, hash);
    while (!rest.empty() && (rest.back() == ' ' || rest.back() == '\t')) rest.remove_suffix(1);
    if (form->words == 1) {
        const auto space = rest.find_last_of(" \t");
        if (space == std::string_view::npos || rest.substr(0, space).find_first_not_of(" \t") == std::string_view::npos)
            throw ParseError(static_cast<int>(line.size()) + 1, fmt::format("usage: {}", form->usage));
        s.words.emplace_back(rest.substr(space + 1));
        s.word_columns.push_back(static_cast<int>(pos + space + 2));
        rest = rest.substr(0, space);
    }
    if (rest.find_first_not_of(" \t") == std::string_view::npos)
        throw ParseError(static_cast<int>(line.size()) + 1, fmt::format("usage: {}", form->usage));
    s.expr = parse_expression(rest, static_cast<int>(pos) + 1);
    return s;
}

void sexpr(const Expr& e, std::string& out) {
    switch (e.kind) {
    case Expr::Kind::Number: out += fmt::format("{}", e.number); return;
    case Expr::Kind::Name: out += e.name; return;
    case Expr::Kind::List: out += '['; break;
    case Expr::Kind::Unary:
    case Expr::Kind::Binary: out += fmt::format("({}", e.name); break;
    case Expr::Kind::Call: out += fmt::format("{}(", e.name); break;
    }
    bool first = e.kind == Expr::Kind::List || e.kind == Expr::Kind::Call;
    for (const auto& a : e.args) {
        if (!first) out += ' ';
        first = false;
        sexpr(*a, out);
    }
    for (const auto& [k, v] : e.kwargs) {
        if (!first) out += ' ';
        first = false;
        out += k + "=";
        sexpr(*v, out);
    }
    out += e.kind == Expr::Kind::List ? ']' : ')';
}

}  // namespace

bool is_comparison(std::string_view op) {
    return op == "<" || op == ">" || op == "<=" || op == ">=" || op == "==" || op == "!=";
}

ExprPtr parse_expression(std::string_view text, int first_column) {
    Parser p(text, first_column);
    ExprPtr e = p.expression();
    p.expect_end("the expression");
    return e;
}

Statement parse_statement(std::string_view line) {
    std::size_t first = 0;
    while (first < line.size() && (line[first] == ' ' || line[first] == '\t')) ++first;
    if (first == line.size() || line[first] == '#') return {};
    if (line[first] == ':') return parse_command(line, first);

    Parser p(line, 1);
    Statement s;
    if (p.peek().kind == Token::Kind::Name && p.peek(1).kind == Token::Kind::Punct && p.peek(1).text == "=") {
        const Token name = p.take();
        p.take();
        s.kind = Statement::Kind::Assign;
        s.name = std::string(name.text);
        s.name_column = name.column;
        if (p.peek().kind == Token::Kind::End)
            throw ParseError(p.peek().column, "expected an expression after '='");
    } else {
        s.kind = Statement::Kind::Print;
    }
    s.expr = p.expression();
    p.expect_end("the expression");
    return s;
}

std::string to_sexpr(const Expr& e) {
    std::string out;
    sexpr(e, out);
    return out;
}

std::string format_diagnostic(std::string_view file, int line_number, std::string_view line, int column,
                              std::string_view message, bool show_line) {
    std::string out = fmt::format("{}:{}:{}: {}", file, line_number, column, message);
    if (!show_line) return out;
    // Show at most ~80 columns around the error, each byte as one printable character so the
    // caret stays aligned.
    constexpr std::size_t kWindow = 80;
    const auto col = static_cast<std::size_t>(std::max(column, 1) - 1);
    std::size_t begin = col > kWindow / 2 ? col - kWindow / 2 : 0;
    if (begin > line.size()) begin = line.size();
    const std::size_t end = std::min(line.size(), begin + kWindow);
    std::string shown = begin > 0 ? "..." : "";
    for (unsigned char c : line.substr(begin, end - begin)) shown += (c >= 0x20 && c < 0x7f) ? static_cast<char>(c) : '?';
    if (end < line.size()) shown += "...";
    const std::size_t caret = col - begin + (begin > 0 ? 3 : 0);
    out += fmt::format("\n    {}\n    {:>{}}", shown, "^", caret + 1);
    return out;
}

}  // namespace nnjit
