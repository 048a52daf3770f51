#!/usr/bin/env bash
# Drives nnjit-repl in a real terminal (a detached tmux session) and checks what a person
# would see: the prompt, a value printed, an up-arrow recalling the previous line from history,
# left-arrow editing in the middle of a line, an error that does not end the session, Ctrl-D
# quitting, and the history kept for the next session. Exit 0 on success, 1 on failure, 77 (skipped) without tmux.
#   tools/repl_tmux_check.sh [path/to/nnjit-repl]
set -u
repl=${1:-build/bin/nnjit-repl}
command -v tmux >/dev/null 2>&1 || { echo "SKIPPED: tmux is not installed"; exit 77; }
[ -x "$repl" ] || { echo "no executable at $repl"; exit 1; }

session=nnjit-repl-check-$$
socket=nnjit-repl-check-$$   # a private tmux server, so nothing else the user runs is touched
t() { tmux -L "$socket" "$@"; }
cleanup() { t kill-server >/dev/null 2>&1; }
history=$(mktemp)
trap 'cleanup; rm -f "$history"' EXIT
start() { t new-session -d -s "$session" -x 120 -y 40 "NNJIT_HISTORY=$history $repl; echo \"[exit status \$?]\"; sleep 120"; }
start

screen() { t capture-pane -p -t "$session"; }
# Waits for the screen to contain $1 (a fixed string): up to 60 s, as a loaded CI machine can
# take seconds to start the REPL; a hang still fails.
patience=600  # tenths of a second
wait_for() {
    for _ in $(seq $patience); do
        screen | grep -qF -- "$1" && return 0
        sleep 0.1
    done
    echo "FAILED: never saw: $1"
    echo "--- screen:"; screen; echo "---"
    exit 1
}
count() { screen | grep -cF -- "$1"; }

wait_for "nnjit>"  # capture-pane drops the trailing space
t send-keys -t "$session" ":backend interp" Enter
t send-keys -t "$session" "x = [1, 2, 3]" Enter
t send-keys -t "$session" "x * 2" Enter
wait_for "tensor([2, 4, 6], dtype=float32, shape=(3,))"

# Up-arrow recalls "x * 2"; running it again prints the value a second time.
t send-keys -t "$session" Up Enter
for _ in $(seq $patience); do [ "$(count 'tensor([2, 4, 6]')" -ge 2 ] && break; sleep 0.1; done
[ "$(count 'tensor([2, 4, 6]')" -ge 2 ] || { echo "FAILED: up-arrow did not recall the last line"; screen; exit 1; }

# Left-arrow editing: type "x + 1", go back over "+ 1", insert "* 10 ": "x * 10 + 1".
t send-keys -t "$session" "x + 1" Left Left Left "* 10 " Enter
wait_for "tensor([11, 21, 31], dtype=float32, shape=(3,))"

# An error is reported and the session goes on.
t send-keys -t "$session" "relu(y)" Enter
wait_for "error: <stdin>:6:6: unknown name 'y'"
t send-keys -t "$session" "sum(x)" Enter
wait_for "tensor(6, dtype=float32, shape=())"

# Ctrl-D quits; the status is 1 because a statement failed.
t send-keys -t "$session" C-d
wait_for "[exit status 1]"

# A new session recalls the last line of the previous one with up-arrow.
t kill-session -t "$session"
start
wait_for "nnjit>"
t send-keys -t "$session" "x = [1, 2, 3]" Enter Up Up Enter
wait_for "tensor(6, dtype=float32, shape=())"
echo "ok: prompt, history (up-arrow, kept across sessions), line editing, errors and Ctrl-D work in a terminal"
