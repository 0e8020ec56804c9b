#!/usr/bin/env bash
# Builds and runs every test of mmm. Installs missing Debian packages first.
#   1. Release build of the tests and examples (-Wall -Wextra -Werror), then every test:
#      unit, PyTorch parity, compile-fail, fuzz-corpus replays, packaging. To stay inside
#      30 minutes it compiles at -O2 rather than CMake's -O3 (a fifth less compile time;
#      neither level lets GCC reassociate float arithmetic, so parity checks the same sums),
#      and leaves out the benchmarks (scripts/bench.sh builds them, at -O3, as the demo does)
#      and the libFuzzer targets (scripts/fuzz.sh's; they were 3 of the 30 minutes).
#   2. AddressSanitizer + UndefinedBehaviorSanitizer build (-Og) of the areas that read
#      untrusted bytes or manage memory by hand (the parsers and preprocessing, the kernels,
#      the core, the fuzz replays, the hardening tests), then their unit, parity and
#      fuzz-replay tests again under it. The layer areas (vision, sequence, attention,
#      fusion, generate, apps) run in Release only: their template-heavy tests would add
#      more sanitizer compile time than the 30-minute budget holds.
# Environment: MMM_SEED fixes the oracles' seed (default: fresh each run, printed);
# MMM_TEST_JOBS sets parallelism (default: nproc).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh

jobs=${MMM_TEST_JOBS:-$(nproc)}
export CTEST_OUTPUT_ON_FAILURE=1

echo "== Release build"
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG" \
  -DMMM_BUILD_TESTS=ON -DMMM_BUILD_BENCHMARKS=OFF -DMMM_BUILD_EXAMPLES=ON -DMMM_FUZZ_SESSIONS=OFF >/dev/null
cmake --build build/release -j "$jobs"
echo "== Release tests"
ctest --test-dir build/release -j "$jobs" --timeout 900

echo "== ASan+UBSan build"
sanitized_areas="unit;parity;gemm;math;image;audio;text;fuzz;hardening"
cmake -S . -B build/sanitize -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMMM_SANITIZE=ON -DMMM_BUILD_TESTS=ON \
  -DMMM_BUILD_BENCHMARKS=OFF -DMMM_BUILD_EXAMPLES=OFF -DMMM_ONLY_AREAS="$sanitized_areas" >/dev/null
cmake --build build/sanitize -j "$jobs"
echo "== ASan+UBSan tests"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
ctest --test-dir build/sanitize -j "$jobs" --timeout 1800 -L 'unit|parity' -LE 'packaging|compile_fail'
