#!/usr/bin/env bash
# bench_generate and the same decoding loops in PyTorch (torch_loops.py), libtorch's C++ API
# (libtorch/loops.cpp) and ONNX Runtime (ort_loops.mjs), one after another, for RESULTS.md.
# Run it under `/work/tools/cpu bench`:
#
#   benchmarks/generate/run.sh BUILD_DIR [REPETITIONS]
#
# BUILD_DIR holds benchmarks/generate/bench_generate (configured with -DMMM_BUILD_BENCHMARKS=ON).
# The peers run with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset (they halve OpenBLAS here);
# onnxruntime-node comes from benchmarks/peers/onnx (ONNXRUNTIME_NODE_INSTALL=skip npm ci).
# The libtorch loops are built (once, then when changed) in BUILD_DIR/generate-libtorch when
# libtorch-dev is installed (scripts/deps.sh bench), else skipped with a line saying so.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=$1
repetitions=${2:-5}
models=$(mktemp -d)
trap 'rm -rf "$models"' EXIT

"$build/benchmarks/generate/bench_generate" --benchmark_repetitions="$repetitions" --benchmark_min_time=0.5 \
  --benchmark_report_aggregates_only=true
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 "$here/torch_loops.py" --export "$models" 2>/dev/null
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 "$here/torch_loops.py" --repetitions "$repetitions"
if cmake -S "$here/libtorch" -B "$build/generate-libtorch" -DCMAKE_BUILD_TYPE=Release >"$build/generate-libtorch.log" 2>&1 &&
  cmake --build "$build/generate-libtorch" -j2 >>"$build/generate-libtorch.log" 2>&1; then
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$build/generate-libtorch/libtorch_loops" "$models" --repetitions "$repetitions"
else
  echo "libtorch loops skipped: not built (libtorch-dev missing?), see $build/generate-libtorch.log"
fi
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE node "$here/ort_loops.mjs" "$models" --repetitions "$repetitions"
