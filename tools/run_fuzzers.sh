#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz (clang, AddressSanitizer + UBSan, in build-fuzz/)
# and runs each for MINUTES minutes, one after the other in one process each (the machine may
# be shared), starting from its seed and regression corpora. Prints per target the executions
# run and the findings; a finding's input lands in build-fuzz/findings/NAME/ (replay it with
# `build-fuzz/bin/nnjit-fuzz-NAME FILE`; once fixed, copy it to tests/fuzz/regressions/NAME/).
# New interesting inputs go to build-fuzz/corpus/NAME/, not into the source tree.
#   tools/run_fuzzers.sh MINUTES [NAME...]      NAME: repl npy idx diff (default: all)
# libFuzzer stops at the first finding of a target. Exit status: 1 when any target found something.
set -euo pipefail
cd "$(dirname "$0")/.."

minutes=${1:?usage: tools/run_fuzzers.sh MINUTES [repl|npy|idx|diff ...]}
shift
targets=("$@")
((${#targets[@]})) || targets=(repl npy idx diff)

# Debian's clang and its runtime libraries (libFuzzer, the sanitizers); the rest of what nnjit
# needs is what ./build.sh installs.
tools/ensure_packages.sh clang libclang-rt-dev

mkdir -p build-fuzz
CXX=clang++ CC=clang cmake -S . -B build-fuzz -G Ninja -DNNJIT_FUZZ=ON -DNNJIT_SANITIZE=address,undefined \
  > build-fuzz/configure.log || { cat build-fuzz/configure.log; exit 1; }
cmake --build build-fuzz --target "${targets[@]/#/nnjit-fuzz-}"

declare -A options=([repl]="-max_len=4096 -dict=tests/fuzz/repl.dict" [npy]="-max_len=1024 -dict=tests/fuzz/npy.dict" [idx]="-max_len=1024"
                    [diff]="-max_len=512 -timeout=60")
status=0
summary=()
for name in "${targets[@]}"; do
  mkdir -p "build-fuzz/corpus/$name" "build-fuzz/findings/$name"
  log="build-fuzz/fuzz-$name.log"
  echo "== $name: $minutes minute(s), log in $log"
  touch "$log.start"
  # libFuzzer stops at a corpus folder that does not exist: a target with no fixed finding yet
  # has no regressions/NAME in git.
  corpora=("build-fuzz/corpus/$name" "tests/fuzz/corpus/$name")
  [[ -d "tests/fuzz/regressions/$name" ]] && corpora+=("tests/fuzz/regressions/$name")
  # NNJIT_CACHE_DIR=off: thousands of throwaway kernels stay out of the on-disk cache.
  # shellcheck disable=SC2086
  NNJIT_CACHE_DIR=off "build-fuzz/bin/nnjit-fuzz-$name" ${options[$name]} -max_total_time=$((minutes * 60)) \
    -print_final_stats=1 -artifact_prefix="build-fuzz/findings/$name/" "${corpora[@]}" > "$log" 2>&1 || true
  runs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*$' || true)
  findings=$(find "build-fuzz/findings/$name" -type f -newer "$log.start" 2>/dev/null | wc -l)
  if [[ -z "$runs" ]] && ((findings == 0)); then
    # No statistics and no finding: the fuzzer did not run (a bad option, a missing folder).
    summary+=("$(printf '%-5s did not run, see %s' "$name" "$log")")
    status=1
    tail -3 "$log"
    continue
  fi
  summary+=("$(printf '%-5s %10s executions  %d finding(s)' "$name" "${runs:-?}" "$findings")")
  if ((findings)); then
    status=1
    grep -m1 -A3 -E 'ERROR|finding|deadly signal|uncaught' "$log" || true
  fi
done
echo "== summary (${minutes} minute(s) each)"
printf '%s\n' "${summary[@]}"
exit $status
