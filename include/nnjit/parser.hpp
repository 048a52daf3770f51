// The text form of the DSL: one statement a line, parsed into a small AST whose nodes carry
// their column, so that the evaluator (session.hpp) can point at what went wrong. The grammar,
// with Python's precedence:
//
//   statement := NAME '=' expr | expr | ':' COMMAND args...        ('#' starts a comment)
//   expr      := sum [('<' | '>' | '<=' | '>=' | '==' | '!=') sum]   (1 where true, else 0)
//   sum       := term (('+' | '-') term)*
//   term      := unary (('*' | '/' | '@') unary)*
//   unary     := '-' unary | primary
//   primary   := NUMBER | NAME | NAME '(' args ')' | '(' expr ')' | '[' expr (',' expr)* ']'
//   args      := [arg (',' arg)*]      arg := expr | NAME '=' expr
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "nnjit/error.hpp"

namespace nnjit {

// A parse error: `column` is 1-based, in bytes. what() is the bare message; format_diagnostic()
// adds the position, the offending line and a caret.
class ParseError : public UserError {
public:
    ParseError(int column, const std::string& message) : UserError(message), column_(column) {}
    int column() const { return column_; }

private:
    int column_;
};

// An error found while evaluating a parsed statement, at a column of its line (the operator,
// call or name that failed).
class EvalError : public UserError {
public:
    EvalError(int column, const std::string& message) : UserError(message), column_(column) {}
    int column() const { return column_; }

private:
    int column_;
};

struct Expr {
    enum class Kind { Number, Name, List, Unary, Binary, Call };
    Kind kind;
    int column = 0;     // where the node starts (for a binary node: its operator)
    int depth = 1;      // height of the subtree, bounded by kMaxExprDepth
    double number = 0;  // Number
    std::string name;   // Name, Call (the function), Unary/Binary (the operator: "-", "+", "@", "<=", ...)
    std::vector<std::unique_ptr<Expr>> args;                               // operands, list items, positional args
    std::vector<std::pair<std::string, std::unique_ptr<Expr>>> kwargs;   // Call only
    std::vector<int> kwarg_columns;                                        // Call only
};
using ExprPtr = std::unique_ptr<Expr>;

// Deeper expressions are rejected with a ParseError, so that neither parsing nor evaluating
// a hostile line (`((((...` or `1+1+1+...` a megabyte long) can exhaust the stack.
inline constexpr int kMaxExprDepth = 256;

struct Statement {
    enum class Kind { Empty, Assign, Print, Command };
    Kind kind = Kind::Empty;
    std::string name;             // Assign: the variable; Command: the command without ':'
    int name_column = 0;
    ExprPtr expr;                 // Assign, Print, and the commands that take an expression
    std::vector<std::string> words;  // Command: the other arguments (names, paths, numbers)
    std::vector<int> word_columns;
};

// Parses one expression that must span all of `text`. `first_column` is the column of
// text[0] within its line. Throws ParseError.
ExprPtr parse_expression(std::string_view text, int first_column = 1);

// Parses one line. Throws ParseError.
Statement parse_statement(std::string_view line);

// Whether a Binary node's operator is a comparison: < > <= >= == !=.
bool is_comparison(std::string_view op);

// The expression as fully parenthesised text, e.g. `(+ 1 (* 2 x))`: for tests and debugging.
std::string to_sexpr(const Expr& e);

// `FILE:LINE:COL: message`, and for parse errors the offending line (a window of it when long,
// unprintable bytes escaped) and a caret under the column.
std::string format_diagnostic(std::string_view file, int line_number, std::string_view line, int column,
                              std::string_view message, bool show_line);

}  // namespace nnjit
