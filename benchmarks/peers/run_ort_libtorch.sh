#!/usr/bin/env bash
# Times the peer workloads (benchmarks/peers/onnx/workloads.json) in ONNX Runtime and
# libtorch and writes Google Benchmark JSON: OUT/ort.json and OUT/libtorch.json (rows
# ort/<case>/threads:N, libtorch/<case>/threads:N), and OUT/combined.json with both, rows
# renamed <family>/<engine>/<workload>/threads:N like mmm's own (GEMM/ort/256x256x256/...).
# Without --out, results go to a temporary BUILD/results.XXXXXX, removed at the end, and
# combined.json is printed on stdout. Progress and the side-by-side medians go to stderr.
# Every step is idempotent: npm install only when the lock file changed, export only the
# cases whose files are missing, cmake rebuilds only what changed.
#
#   benchmarks/peers/run_ort_libtorch.sh [--out DIR] [--build DIR] [--filter REGEX]
#       [--rounds R] [--repetitions N] [--min-time SECONDS] [--threads 1,2] [--no-ort] [--no-libtorch]
#
# Each of R rounds (default 1) runs ONNX Runtime then libtorch, each case N times (default
# 5); the side-by-side table takes the median over rounds of each round's median.
# --build defaults to build-peers; --filter is an unanchored regex on the case names (e.g.
# 'linear_1024x4096/M:64'). Needs Debian's /usr/bin/python3 with torch, node + npm (npm
# registry on the first run), libtorch-dev and libbenchmark-dev (scripts/deps.sh bench).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
build="$repo/build-peers"
out=""
filter=""
rounds=1
repetitions=5
min_time=0.2
threads=1,2
run_ort=1
run_libtorch=1

while (($#)); do
  case "$1" in
    --out) out=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --filter) filter=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --repetitions) repetitions=$2; shift 2 ;;
    --min-time) min_time=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --no-ort) run_ort=0; shift ;;
    --no-libtorch) run_libtorch=0; shift ;;
    -h|--help) sed -n '2,20p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "run_ort_libtorch: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
# stdout is for the combined JSON only; everything else goes to stderr.
exec 3>&1 1>&2
mkdir -p "$build"
build=$(cd "$build" && pwd)
print_combined=0
if [[ -z "$out" ]]; then
  # A run of its own (scripts/bench.sh may run while someone else does), gone when done.
  out=$(mktemp -d "$build/results.XXXXXX")
  trap 'rm -rf "$out"' EXIT
  print_combined=1
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)
manifest="$out/manifest.json"

# OpenBLAS (libtorch's BLAS on Debian) reads these; this machine sets them for its own
# reasons and they halve its speed. Unset only in the peers' own commands.
peer_env=(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE)
# libtorch has two thread pools here: ATen's OpenMP team (element-wise work, e.g. addmm's
# bias copy) and OpenBLAS's pthreads (the GEMM). With 2 threads on 2 cores, OpenMP threads
# spinning after their region starve OpenBLAS's, 2-5x slower; passive waiting avoids that.
libtorch_env=("${peer_env[@]}" OMP_WAIT_POLICY=PASSIVE)

# 1. onnxruntime-node, pinned by package-lock.json. ONNXRUNTIME_NODE_INSTALL=skip: the
#    package carries linux-x64 libonnxruntime.so; its install script would fetch GPU providers.
install_ort() {
  local dir="$here/onnx" stamp="$here/onnx/node_modules/.mmm-lock.sha1" want
  want=$(cat "$dir/package.json" "$dir/package-lock.json" | sha1sum | cut -d' ' -f1)
  if [[ -f "$stamp" && $(cat "$stamp") == "$want" ]]; then
    echo "peers: onnxruntime-node already installed"
    return
  fi
  command -v npm >/dev/null || { echo "peers: npm not found (scripts/deps.sh bench)" >&2; exit 1; }
  echo "peers: installing onnxruntime-node (npm ci)"
  (cd "$dir" && ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund --loglevel=error)
  echo "$want" >"$stamp"
}

# 2. The workloads as ONNX (+ TorchScript, inputs, torch's outputs) in the build tree.
export_models() {
  /usr/bin/python3 "$here/onnx/export_workloads.py" --out "$build/models" --manifest "$manifest" \
    --filter "$filter"
}

# 3. The libtorch harness: a standalone CMake project, out of mmm's default build.
build_libtorch() {
  cmake -S "$here/libtorch" -B "$build/libtorch" -DCMAKE_BUILD_TYPE=Release >"$build/libtorch.configure.log" \
    || { cat "$build/libtorch.configure.log" >&2; exit 1; }
  if ! grep -q "bench_libtorch" "$build/libtorch/Makefile" 2>/dev/null; then
    grep "mmm peers" "$build/libtorch.configure.log" >&2 || true
    return 1
  fi
  cmake --build "$build/libtorch" --target bench_libtorch -j2 >/dev/null
}

# Setup is shared (node_modules, the export cache, the libtorch build): one run at a time.
exec 4<"$here/onnx"
flock 4
if ((run_ort)); then install_ort; fi
export_models
if ((run_libtorch)) && ! build_libtorch; then
  echo "peers: libtorch not found, skipping it (Debian: scripts/deps.sh bench)" >&2
  run_libtorch=0
fi
flock -u 4

rm -rf "$out/rounds" "$out/ort.json" "$out/libtorch.json" "$out/combined.json"
mkdir -p "$out/rounds"
for ((round = 1; round <= rounds; ++round)); do
  if ((run_ort)); then
    echo "peers: round $round/$rounds: ONNX Runtime"
    "${peer_env[@]}" node --expose-gc "$here/onnx/bench.mjs" --manifest "$manifest" \
      --out "$out/rounds/ort.$round.json" --threads "$threads" --filter "$filter" \
      --repetitions "$repetitions" --min-time "$min_time"
  fi
  if ((run_libtorch)); then
    echo "peers: round $round/$rounds: libtorch"
    log="$out/rounds/libtorch.$round.log"
    "${libtorch_env[@]}" "$build/libtorch/bench_libtorch" --manifest="$manifest" --threads="$threads" \
      --benchmark_filter="$filter" --benchmark_repetitions="$repetitions" \
      --benchmark_report_aggregates_only=true --benchmark_min_time="$min_time" \
      --benchmark_out="$out/rounds/libtorch.$round.json" --benchmark_out_format=json >"$log" 2>&1 \
      || { cat "$log" >&2; echo "peers: libtorch failed (log above)" >&2; exit 1; }
  fi
done

/usr/bin/python3 "$here/onnx/report.py" --manifest "$manifest" --results "$out" --combined "$out/combined.json"
if ((print_combined)); then cat "$out/combined.json" >&3; fi
