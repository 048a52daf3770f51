// libFuzzer target for the text DSL: the input is a script; every line is parsed, and run by a
// Session on the interpreter with a small size limit. Anything but a clean UserError-style
// outcome (a crash, a sanitizer report, an exception escaping, a hang) is a finding.
// Commands that touch files (:load, :save, :dot) or the JIT (:ir, :llvm, :asm, :time,
// :backend) are parsed but not run.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "nnjit/parser.hpp"
#include "nnjit/session.hpp"

namespace {

bool runnable(std::string_view line) {
    const auto first = line.find_first_not_of(" \t");
    if (first == std::string_view::npos || line[first] != ':') return true;
    const std::string_view cmd = line.substr(first + 1);
    for (std::string_view skip : {"load", "save", "dot", "ir", "llvm", "asm", "time", "backend"})
        if (cmd.starts_with(skip)) return false;
    return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    nnjit::SessionOptions options;
    options.backend = nnjit::Backend::interp;
    options.max_elements = 1 << 14;  // keeps each input fast; the limit itself is under test
    nnjit::Session session(options);
    std::string_view text(reinterpret_cast<const char*>(data), size);
    int line_number = 0;
    while (!text.empty()) {
        const auto eol = text.find('\n');
        const std::string_view line = text.substr(0, eol);
        text = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);
        ++line_number;
        try {
            (void)nnjit::parse_statement(line);
        } catch (const nnjit::ParseError&) {
        }
        if (!runnable(line)) continue;
        const nnjit::Outcome r = session.execute(line, "fuzz", line_number);
        // Internal errors are reported at column 1 (the user's line may itself contain the words).
        const std::string internal = "fuzz:" + std::to_string(line_number) + ":1: internal error";
        if (!r.ok && r.error.starts_with(internal)) __builtin_trap();
        if (r.quit) break;
    }
    return 0;
}
