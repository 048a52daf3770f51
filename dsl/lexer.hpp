// The lexer of the text DSL: turns a range of one line into tokens on demand, so that a parser
// can stop at the end of an expression without lexing what follows it.
#pragma once

#include <string>
#include <string_view>

namespace nnjit::detail {

struct Token {
    enum class Kind { End, Number, Name, Punct };
    Kind kind = Kind::End;
    std::string_view text;  // the bytes of the token (for Punct: one character, or two: <= >= == !=)
    double number = 0;
    int column = 0;         // 1-based, in the line
};

class Lexer {
public:
    // `first_column` is the column of text[0] in its line.
    Lexer(std::string_view text, int first_column) : text_(text), first_column_(first_column) {}
    // The next token; throws ParseError on a character that starts no token or a malformed number.
    Token next();

private:
    std::string_view text_;
    std::size_t pos_ = 0;
    int first_column_;
};

// A byte for an error message: 'x' when printable, else '\xHH'.
std::string describe_byte(unsigned char c);
// A name or other user text for an error message, cut to a readable length.
std::string clip(std::string_view text, std::size_t max = 40);

}  // namespace nnjit::detail
