// nnjit-repl: the text DSL, interactively (a terminal on stdin: prompt, line editing and
// history through libedit) or in batch (`nnjit-repl FILE` or `nnjit-repl < FILE`: no prompt,
// every line in order). A failing statement prints `error: FILE:LINE:COL: message` on stderr
// and the run goes on; the exit status is 1 if any statement failed.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <unistd.h>

#include <editline/readline.h>

#include "nnjit/session.hpp"

namespace {

struct Runner {
    nnjit::Session session;
    std::string file;
    int line_number = 0;
    bool failed = false;

    // Returns false when the session asked to quit.
    bool run(std::string_view line) {
        ++line_number;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        const nnjit::Outcome r = session.execute(line, file, line_number);
        if (!r.output.empty()) {
            std::fwrite(r.output.data(), 1, r.output.size(), stdout);
            std::fflush(stdout);
        }
        if (!r.ok) {
            failed = true;
            std::fprintf(stderr, "error: %s\n", r.error.c_str());
            std::fflush(stderr);
        }
        return !r.quit;
    }
};

void run_batch(Runner& runner, std::FILE* in) {
    char* buffer = nullptr;
    std::size_t capacity = 0;
    ssize_t n;
    while ((n = getline(&buffer, &capacity, in)) >= 0) {
        std::string_view line(buffer, static_cast<std::size_t>(n));
        if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
        if (!runner.run(line)) break;
    }
    std::free(buffer);
}

// History survives the session, as in Python's REPL: $NNJIT_HISTORY, else ~/.nnjit_history.
std::string history_path() {
    if (const char* path = std::getenv("NNJIT_HISTORY"); path != nullptr && *path != '\0') return path;
    const char* home = std::getenv("HOME");
    return home != nullptr && *home != '\0' ? std::string(home) + "/.nnjit_history" : std::string();
}

void run_interactive(Runner& runner) {
    using_history();
    stifle_history(1000);
    const std::string history = history_path();
    if (!history.empty()) read_history(history.c_str());  // a missing file is a fresh start
    std::puts("nnjit REPL: :help lists what it understands; Ctrl-D quits.");
    for (;;) {
        char* line = readline("nnjit> ");
        if (line == nullptr) {
            std::putchar('\n');
            break;
        }
        if (line[0] != '\0') add_history(line);
        const bool go_on = runner.run(line);
        std::free(line);
        if (!go_on) break;
    }
    if (!history.empty() && write_history(history.c_str()) != 0)
        std::fprintf(stderr, "warning: could not save the history to '%s'\n", history.c_str());
}

}  // namespace

int main(int argc, char** argv) {
    if (argc > 2 || (argc == 2 && (std::strcmp(argv[1], "-h") == 0 || std::strcmp(argv[1], "--help") == 0))) {
        std::fprintf(stderr, "usage: nnjit-repl [FILE]\n  without FILE: interactive on a terminal, else reads stdin\n");
        return argc == 2 ? 0 : 2;
    }
    Runner runner;
    if (argc == 2) {
        std::FILE* in = std::fopen(argv[1], "rb");
        if (in == nullptr) {
            std::fprintf(stderr, "error: cannot open '%s': %s\n", argv[1], std::strerror(errno));
            return 1;
        }
        runner.file = argv[1];
        run_batch(runner, in);
        std::fclose(in);
    } else if (isatty(STDIN_FILENO)) {
        runner.file = "<stdin>";
        run_interactive(runner);
    } else {
        runner.file = "<stdin>";
        run_batch(runner, stdin);
    }
    return runner.failed ? 1 : 0;
}
