#!/usr/bin/env bash
# The one entry point: installs the Debian packages nnjit needs (only those missing), builds
# into build/, then runs what was asked for.
#   ./build.sh run [FILE]   the REPL (interactive on a terminal; a script from FILE or stdin otherwise)
#   ./build.sh test    the whole test suite (ctest; the exhaustive `long` sweeps run with
#                      ctest --test-dir build -L long)
#   ./build.sh peers   also installs the optional benchmark peers (Eigen, oneDNN, Halide,
#                      libtorch: several hundred MB) and matplotlib, and builds the benchmarks with them;
#                      then bench/report runs them
set -euo pipefail
cd "$(dirname "$0")"

packages=(cmake ninja-build g++ pkg-config ccache llvm-19-dev libfmt-dev catch2 libbenchmark-dev libopenblas-dev
          libedit-dev zlib1g-dev libdnnl-dev)
if [ "${1:-}" = peers ]; then packages+=(libeigen3-dev libhalide14-0-dev libtorch-dev python3-matplotlib); fi
tools/ensure_packages.sh "${packages[@]}"

werror=OFF; [ -n "${CI:-}" ] && werror=ON
cmake -S . -B build -G Ninja -DNNJIT_WERROR=$werror > build-configure.log || { cat build-configure.log; exit 1; }
cmake --build build

case "${1:-run}" in
  run) exec build/bin/nnjit-repl "${@:2}" ;;
  test) ctest --test-dir build --output-on-failure -j "$(nproc)" -LE long ;;
  peers) grep 'benchmark peers' build-configure.log; echo "now: bench/report (or bench/report --quick)" ;;
  *) echo "usage: ./build.sh [run|test|peers]" >&2; exit 2 ;;
esac
