// FixedString: a string literal usable as a template argument, so that a placeholder's name is
// part of its type (input<"x", float, Dims<Dynamic, 784>>).
#pragma once

#include <cstddef>
#include <string_view>

namespace nnjit {

template <std::size_t N> struct FixedString {
    char chars[N] = {};

    // Implicit on purpose: input<"x", ...> passes a literal where a FixedString is expected.
    constexpr FixedString(const char (&text)[N]) {  // NOLINT(google-explicit-constructor)
        for (std::size_t i = 0; i < N; ++i) chars[i] = text[i];
    }
    constexpr std::string_view view() const { return {chars, N - 1}; }
};

}  // namespace nnjit
