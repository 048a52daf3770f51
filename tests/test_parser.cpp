// The text DSL's parser: precedence, statement forms, error positions, and the limits that
// keep hostile input (deep nesting, megabyte lines, garbage bytes) from crashing it.
#include <catch2/catch.hpp>

#include <string>

#include "nnjit/parser.hpp"

using namespace nnjit;

namespace {

std::string sexpr(std::string_view text) { return to_sexpr(*parse_expression(text)); }

// The column and message of the ParseError that parsing `line` throws.
std::pair<int, std::string> parse_error(std::string_view line) {
    try {
        (void)parse_statement(line);
    } catch (const ParseError& e) {
        return {e.column(), e.what()};
    }
    FAIL("no ParseError for: " << line.substr(0, 60));
    return {};
}

}  // namespace

TEST_CASE("parser: Python precedence and associativity", "[parser]") {
    CHECK(sexpr("1 + 2 * 3") == "(+ 1 (* 2 3))");
    CHECK(sexpr("a - b - c") == "(- (- a b) c)");
    CHECK(sexpr("a / b * c") == "(* (/ a b) c)");
    CHECK(sexpr("a @ b * c") == "(* (@ a b) c)");
    CHECK(sexpr("a + b @ c") == "(+ a (@ b c))");
    CHECK(sexpr("-x * y") == "(* (- x) y)");
    CHECK(sexpr("a - -b") == "(- a (- b))");
    CHECK(sexpr("(a + b) * c") == "(* (+ a b) c)");
    CHECK(sexpr("2 * -0.5 + 1e-3") == "(+ (* 2 (- 0.5)) 0.001)");
    CHECK(sexpr(".5 + 1.") == "(+ 0.5 1)");
    // A comparison binds loosest, and its two-character forms are one token.
    CHECK(sexpr("x + 1 > y * 2") == "(> (+ x 1) (* y 2))");
    CHECK(sexpr("-x<=0") == "(<= (- x) 0)");
    CHECK(sexpr("a >= b") == "(>= a b)");
    CHECK(sexpr("a == b - 1") == "(== a (- b 1))");
    CHECK(sexpr("(a != b) * (a < b)") == "(* (!= a b) (< a b))");
    CHECK(sexpr("where(x > 0, x, y == 2)") == "where((> x 0) x (== y 2))");
}

TEST_CASE("parser: calls, keyword arguments and lists", "[parser]") {
    CHECK(sexpr("leaky_relu(x, alpha=0.1)") == "leaky_relu(x alpha=0.1)");
    CHECK(sexpr("sum(x * 2, axis=-1)") == "sum((* x 2) axis=(- 1))");
    CHECK(sexpr("zeros()") == "zeros()");
    CHECK(sexpr("f(a, b,)") == "f(a b)");
    CHECK(sexpr("[[1, 2], [3, 4]]") == "[[1 2] [3 4]]");
    CHECK(sexpr("[]") == "[]");
    CHECK(sexpr("grad(relu(x) @ w, w)") == "grad((@ relu(x) w) w)");
}

TEST_CASE("parser: statements", "[parser]") {
    Statement s = parse_statement("  y = x + 1  # comment");
    CHECK(s.kind == Statement::Kind::Assign);
    CHECK(s.name == "y");
    CHECK(s.name_column == 3);
    CHECK(to_sexpr(*s.expr) == "(+ x 1)");
    CHECK(s.expr->column == 9);  // a binary node sits at its operator

    CHECK(parse_statement("x").kind == Statement::Kind::Print);
    CHECK(parse_statement("").kind == Statement::Kind::Empty);
    CHECK(parse_statement("   # only a comment").kind == Statement::Kind::Empty);

    s = parse_statement(":load w /tmp/some dir/w.npy ");
    CHECK(s.kind == Statement::Kind::Command);
    CHECK(s.name == "load");
    REQUIRE(s.words.size() == 2);
    CHECK(s.words[0] == "w");
    CHECK(s.words[1] == "/tmp/some dir/w.npy");

    s = parse_statement(":dot relu(x) * 2 /tmp/g.dot");
    CHECK(s.name == "dot");
    CHECK(to_sexpr(*s.expr) == "(* relu(x) 2)");
    REQUIRE(s.words.size() == 1);
    CHECK(s.words[0] == "/tmp/g.dot");

    s = parse_statement(":ir sigmoid(x)");
    CHECK(to_sexpr(*s.expr) == "sigmoid(x)");
    CHECK(s.expr->column == 5);

    s = parse_statement(":seed 42");
    CHECK(s.words == std::vector<std::string>{"42"});
}

TEST_CASE("parser: errors carry the column of the offending token", "[parser][error]") {
    CHECK(parse_error("(x + 1") == std::pair<int, std::string>{1, "'(' is never closed"});
    CHECK(parse_error("f(x, [1, 2)") == std::pair<int, std::string>{11, "expected ']' or ',', got ')'"});
    CHECK(parse_error("1 +") == std::pair<int, std::string>{4, "expected an expression, got end of line"});
    CHECK(parse_error("x $ y") == std::pair<int, std::string>{3, "unexpected character '$'"});
    CHECK(parse_error("x = \xff") == std::pair<int, std::string>{5, "unexpected character '\\xff'"});
    CHECK(parse_error(std::string("a\0b", 3)) == std::pair<int, std::string>{2, "unexpected character '\\x00'"});
    CHECK(parse_error("2x + 1") == std::pair<int, std::string>{1, "malformed number '2x'"});
    CHECK(parse_error("1e999") == std::pair<int, std::string>{1, "number '1e999' is out of range"});
    CHECK(parse_error("x y") == std::pair<int, std::string>{3, "unexpected name 'y' after the expression"});
    CHECK(parse_error("a < b <= c") ==
          std::pair<int, std::string>{7, "comparisons do not chain: write (a < b) * (b <= c) for both"});
    CHECK(parse_error("x ! y") == std::pair<int, std::string>{3, "unexpected character '!'"});
    CHECK(parse_error("x => y") == std::pair<int, std::string>{4, "expected an expression, got '>'"});
    CHECK(parse_error("f(a=1, 2)") == std::pair<int, std::string>{8, "positional argument follows keyword argument"});
    CHECK(parse_error("f(a=1, a=2)") == std::pair<int, std::string>{8, "keyword argument 'a' repeated"});
    CHECK(parse_error("y =") == std::pair<int, std::string>{4, "expected an expression after '='"});
    CHECK(parse_error(":frobnicate x") == std::pair<int, std::string>{1, "unknown command ':frobnicate' (:help lists them)"});
    CHECK(parse_error(":load 1x a.npy") == std::pair<int, std::string>{7, "'1x' is not a variable name"});
    CHECK(parse_error(":seed") == std::pair<int, std::string>{6, "usage: :seed N"});
    CHECK(parse_error(":vars now") == std::pair<int, std::string>{7, "usage: :vars"});
    CHECK(parse_error(":dot x") == std::pair<int, std::string>{7, "usage: :dot EXPR PATH"});
    CHECK(parse_error(":ir") == std::pair<int, std::string>{4, "usage: :ir EXPR"});
}

TEST_CASE("parser: nesting is limited, so hostile lines fail cleanly", "[parser][error]") {
    const int n = kMaxExprDepth + 10;
    CHECK_THAT(parse_error(std::string(static_cast<std::size_t>(n), '(') + "x" + std::string(static_cast<std::size_t>(n), ')')).second,
               Catch::Contains("nested too deeply"));
    CHECK_THAT(parse_error(std::string(1 << 20, '[')).second, Catch::Contains("nested too deeply"));
    CHECK_THAT(parse_error(std::string(1 << 20, '-') + "x").second, Catch::Contains("nested too deeply"));
    const std::string call = "f(" + std::string(1 << 20, 'g') + "(";
    CHECK(parse_error(call) ==
          std::pair<int, std::string>{static_cast<int>(call.size()) + 1, "expected an expression, got end of line"});
    // A left-associative chain is deep without any brackets.
    std::string chain = "1";
    while (chain.size() < (1u << 20)) chain += "+1";
    CHECK_THAT(parse_error(chain).second, Catch::Contains("nested too deeply"));
    // Just inside the limit parses.
    std::string ok(static_cast<std::size_t>(kMaxExprDepth - 1), '(');
    ok += 'x';
    ok.append(static_cast<std::size_t>(kMaxExprDepth - 1), ')');
    CHECK(to_sexpr(*parse_expression(ok)) == "x");
    // A megabyte name is one token, not a problem.
    const std::string name(1 << 20, 'a');
    CHECK(parse_statement(name).kind == Statement::Kind::Print);
    // A megabyte of digits is a number far beyond float64's range.
    CHECK_THAT(parse_error(std::string(1 << 20, '1')).second, Catch::StartsWith("number '1111") && Catch::EndsWith("...' is out of range"));
}

TEST_CASE("parser: diagnostics show the line and a caret under the column", "[parser][error]") {
    CHECK(format_diagnostic("s.nnj", 3, "y = (x + 1", 5, "'(' is never closed", true) ==
          "s.nnj:3:5: '(' is never closed\n    y = (x + 1\n        ^");
    CHECK(format_diagnostic("s.nnj", 3, "y = foo(x)", 5, "unknown function 'foo'", false) ==
          "s.nnj:3:5: unknown function 'foo'");
    // Unprintable bytes are shown as '?' so the caret stays under its byte.
    CHECK(format_diagnostic("f", 1, "a\tb\xff", 4, "m", true) == "f:1:4: m\n    a?b?\n       ^");
    // Long lines are cut to a window around the column.
    const std::string line = std::string(1000, 'a') + "$" + std::string(1000, 'b');
    const std::string d = format_diagnostic("f", 1, line, 1001, "unexpected character '$'", true);
    const auto first_nl = d.find('\n'), second_nl = d.find('\n', first_nl + 1);
    const std::string shown = d.substr(first_nl + 1, second_nl - first_nl - 1);
    const std::string caret = d.substr(second_nl + 1);
    CHECK(shown.size() < 100);
    REQUIRE(caret.size() <= shown.size());
    CHECK(shown[caret.size() - 1] == '$');
    CHECK(caret.back() == '^');
}
