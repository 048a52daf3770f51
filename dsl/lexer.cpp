// The lexer of the text DSL. Numbers are read with std::from_chars (locale independent, exact
// rounding); anything that is not ASCII punctuation of the language is rejected at its byte.
#include "lexer.hpp"

#include <charconv>

#include <fmt/format.h>

#include "nnjit/parser.hpp"

namespace nnjit::detail {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_name_char(char c) { return is_name_start(c) || is_digit(c); }

}  // namespace

std::string describe_byte(unsigned char c) {
    if (c >= 0x20 && c < 0x7f) return fmt::format("'{}'", static_cast<char>(c));
    return fmt::format("'\\x{:02x}'", c);
}

std::string clip(std::string_view text, std::size_t max) {
    std::string out;
    for (unsigned char c : text.substr(0, max)) {
        if (c >= 0x20 && c < 0x7f) out += static_cast<char>(c);
        else out += fmt::format("\\x{:02x}", c);
    }
    if (text.size() > max) out += "...";
    return out;
}

Token Lexer::next() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t')) ++pos_;
    Token t;
    t.column = first_column_ + static_cast<int>(pos_);
    if (pos_ >= text_.size() || text_[pos_] == '#') {
        pos_ = text_.size();
        return t;  // End
    }
    const std::size_t start = pos_;
    const char c = text_[pos_];
    if (is_name_start(c)) {
        while (pos_ < text_.size() && is_name_char(text_[pos_])) ++pos_;
        t.kind = Token::Kind::Name;
        t.text = text_.substr(start, pos_ - start);
        return t;
    }
    if (is_digit(c) || (c == '.' && pos_ + 1 < text_.size() && is_digit(text_[pos_ + 1]))) {
        while (pos_ < text_.size() && is_digit(text_[pos_])) ++pos_;
        if (pos_ < text_.size() && text_[pos_] == '.') {
            ++pos_;
            while (pos_ < text_.size() && is_digit(text_[pos_])) ++pos_;
        }
        if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
            std::size_t p = pos_ + 1;
            if (p < text_.size() && (text_[p] == '+' || text_[p] == '-')) ++p;
            if (p < text_.size() && is_digit(text_[p])) {
                pos_ = p;
                while (pos_ < text_.size() && is_digit(text_[pos_])) ++pos_;
            }
        }
        t.text = text_.substr(start, pos_ - start);
        if (pos_ < text_.size() && (is_name_char(text_[pos_]) || text_[pos_] == '.'))
            throw ParseError(t.column, fmt::format("malformed number '{}'", clip(text_.substr(start, pos_ + 1 - start))));
        const auto [end, ec] = std::from_chars(t.text.data(), t.text.data() + t.text.size(), t.number);
        if (ec == std::errc::result_out_of_range)
            throw ParseError(t.column, fmt::format("number '{}' is out of range", clip(t.text)));
        if (ec != std::errc() || end != t.text.data() + t.text.size())
            throw ParseError(t.column, fmt::format("malformed number '{}'", clip(t.text)));
        t.kind = Token::Kind::Number;
        return t;
    }
    // The comparisons: "<=", ">=", "==" and "!=" before '<', '>' and '='.
    if ((c == '<' || c == '>' || c == '=' || c == '!') && pos_ + 1 < text_.size() && text_[pos_ + 1] == '=') {
        pos_ += 2;
        t.kind = Token::Kind::Punct;
        t.text = text_.substr(start, 2);
        return t;
    }
    switch (c) {
    case '(': case ')': case '[': case ']': case ',': case '=': case '+': case '-': case '*': case '/': case '@':
    case '<': case '>':
        ++pos_;
        t.kind = Token::Kind::Punct;
        t.text = text_.substr(start, 1);
        return t;
    default:
        throw ParseError(t.column, fmt::format("unexpected character {}", describe_byte(static_cast<unsigned char>(c))));
    }
}

}  // namespace nnjit::detail
