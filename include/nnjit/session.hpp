// A REPL session: the variables bound so far, the engine and the random seed in use, and the
// evaluation of one statement of the text DSL (parser.hpp) at a time. Every statement builds a
// fresh Graph whose inputs are the bound tensors it names, compiles it for the session's
// backend and runs it. Used by the nnjit-repl front end, the tests and the fuzzer.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "nnjit/engine.hpp"
#include "nnjit/parser.hpp"
#include "nnjit/program.hpp"

namespace nnjit {

struct SessionOptions {
    Backend backend = Backend::jit;
    std::uint64_t seed = 0;
    // No tensor of a statement (a constructor's result, an intermediate, an output) may have
    // more elements than this: a typo like zeros(100000, 100000) is an error, not a 40 GB
    // allocation.
    std::int64_t max_elements = std::int64_t{1} << 28;
    // :time repeats each engine at least this many times, and until about `time_budget_s`.
    int time_min_runs = 5;
    double time_budget_s = 0.25;
};

// What one statement did.
struct Outcome {
    bool ok = true;
    bool quit = false;      // :quit was given
    std::string output;     // for stdout: a value, a listing; empty for most statements
    std::string error;      // when !ok: `FILE:LINE:COL: message` (+ the line and a caret for parse errors)
};

class Session {
public:
    explicit Session(SessionOptions options = {});

    // Parses and runs one line. Never throws for anything a user can type: user errors and
    // internal errors alike come back in the Outcome.
    Outcome execute(std::string_view line, std::string_view file, int line_number);

    const Bindings& variables() const { return variables_; }
    void bind(std::string name, Tensor value) { variables_[std::move(name)] = std::move(value); }
    Backend backend() const { return options_.backend; }

private:
    std::string run(const Statement& s);
    std::string run_command(const Statement& s);

    SessionOptions options_;
    Bindings variables_;
    std::uint64_t draws_ = 0;
    std::string partial_;      // output of a statement that then failed  // random constructors called since the last :seed
};

}  // namespace nnjit
