#!/usr/bin/env bash
# Builds and runs every test of mmm. Installs missing Debian packages first.
#   1. Release build of everything (tests, benchmarks, examples; -Wall -Wextra -Werror),
#      then every test: unit, PyTorch parity, compile-fail, fuzz, packaging.
#   2. AddressSanitizer + UndefinedBehaviorSanitizer build of the tests, then the unit,
#      parity and fuzz-replay tests again under it.
# Environment: MMM_SEED fixes the oracles' seed (default: fresh each run, printed);
# MMM_TEST_JOBS sets parallelism (default: nproc).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh

jobs=${MMM_TEST_JOBS:-$(nproc)}
export CTEST_OUTPUT_ON_FAILURE=1

echo "== Release build"
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DMMM_BUILD_TESTS=ON -DMMM_BUILD_BENCHMARKS=ON \
  -DMMM_BUILD_EXAMPLES=ON >/dev/null
cmake --build build/release -j "$jobs"
echo "== Release tests"
ctest --test-dir build/release -j "$jobs" --timeout 900

echo "== ASan+UBSan build"
cmake -S . -B build/sanitize -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMMM_SANITIZE=ON -DMMM_BUILD_TESTS=ON \
  -DMMM_BUILD_BENCHMARKS=OFF -DMMM_BUILD_EXAMPLES=OFF >/dev/null
cmake --build build/sanitize -j "$jobs"
echo "== ASan+UBSan tests"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
ctest --test-dir build/sanitize -j "$jobs" --timeout 1800 -L 'unit|parity' -LE 'packaging|compile_fail'
