#!/usr/bin/env bash
# bench_generate and the same decoding loops in PyTorch (torch_loops.py) and ONNX Runtime
# (ort_loops.mjs), one after another, for RESULTS.md. Run it under `/work/tools/cpu bench`:
#
#   benchmarks/generate/run.sh BUILD_DIR [REPETITIONS]
#
# BUILD_DIR holds benchmarks/generate/bench_generate (configured with -DMMM_BUILD_BENCHMARKS=ON).
# The peers run with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset (they halve OpenBLAS here);
# onnxruntime-node comes from benchmarks/peers/onnx (ONNXRUNTIME_NODE_INSTALL=skip npm ci).
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
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE node "$here/ort_loops.mjs" "$models" --repetitions "$repetitions"
