#!/usr/bin/env bash
# Runs every mmm benchmark and every peer found, in one run, and writes
# benchmarks/RESULTS.md (medians, % of the measured FMA peak, mmm/peer ratios, the exact
# command) and benchmarks/results.png.
#
#   scripts/bench.sh                  all benchmark executables
#   scripts/bench.sh gemm             only the GEMM ones (bench_gemm and its peers)
#   BUILD=dir REPS=n MIN_TIME=s NO_ORT=1 scripts/bench.sh
#
# Peers are separate processes so that each gets its own environment: OpenBLAS runs with
# OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset (this machine sets them, and they halve
# OpenBLAS), for that process only. Nothing else changes the environment.
set -euo pipefail

# OpenMP workers that spin between parallel regions (libgomp's default) fight whatever
# else runs on a shared machine, and 2-thread OpenMP runs (mmm's, oneDNN's, Eigen's)
# then collapse, e.g. 256³ from ~230 to ~1 GFLOP/s here while other builds ran. Passive
# waiting is the setting for a busy machine; it applies to every engine alike and the
# report records it. OMP_WAIT_POLICY=active scripts/bench.sh measures the other one.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${BUILD:-$root/build-bench}
reps=${REPS:-5}
min_time=${MIN_TIME:-0.2}
only=${1:-}
out=$build/bench-json
command_line="scripts/bench.sh${1:+ $1} (BUILD=${BUILD:-build-bench} REPS=$reps MIN_TIME=$min_time OMP_WAIT_POLICY=$OMP_WAIT_POLICY)"

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DMMM_BUILD_TESTS=OFF -DMMM_BUILD_EXAMPLES=OFF >/dev/null
all_targets=$(cmake --build "$build" --target help | sed -n 's/^\.\.\. \(bench_[A-Za-z0-9_]*\).*/\1/p' | sort -u)
if [[ "$only" == gemm ]]; then
  targets=(bench_gemm)
else
  mapfile -t targets < <(grep -v -e '^bench_peer_' -e '^bench_libtorch$' <<<"$all_targets")
fi
peers=()
for p in bench_peer_onednn_gemm bench_peer_openblas_gemm; do
  if grep -qx "$p" <<<"$all_targets"; then peers+=("$p"); fi
done
echo "bench: building ${targets[*]} ${peers[*]}"
cmake --build "$build" --target "${targets[@]}" "${peers[@]}" -j2 >/dev/null

rm -rf "$out"
mkdir -p "$out"
# REPS rounds, each running every executable once in turn: engines then see the same
# background load (the machine is shared), and the report takes the median per row.
gb_flags=(--benchmark_min_time="$min_time" --benchmark_format=json)

run() {  # run NAME ROUND command...
  local name=$1 round=$2
  shift 2
  "$@" "${gb_flags[@]}" --benchmark_out="$out/$name.$round.json" --benchmark_out_format=json >/dev/null
}

for ((round = 1; round <= reps; ++round)); do
  echo "bench: round $round of $reps"
  for t in "${targets[@]}"; do
    exe=$(find "$build/benchmarks" -maxdepth 2 -type f -name "$t" -perm -u+x -print -quit)
    if [[ -n "$exe" ]]; then run "$t" "$round" "$exe"; fi
  done
  for p in "${peers[@]}"; do
    exe="$build/benchmarks/peers/$p"
    if [[ "$p" == *openblas* ]]; then
      run "$p" "$round" env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$exe"
    else
      run "$p" "$round" "$exe"
    fi
  done
done

# ONNX Runtime and libtorch: their runner prints Google-Benchmark-style JSON on stdout, rows
# named like ours. In gemm mode only its matmul and Linear cases run.
ort_runner=$root/benchmarks/peers/run_ort_libtorch.sh
if [[ -f "$ort_runner" && "${NO_ORT:-0}" != 1 ]]; then
  ort_args=()
  if [[ "$only" == gemm ]]; then ort_args=(--filter '(^|/)(matmul|linear_1024x4096)/'); fi
  echo "bench: benchmarks/peers/run_ort_libtorch.sh ${ort_args[*]}"
  if ! bash "$ort_runner" "${ort_args[@]}" >"$out/ort_libtorch.json" 2>"$out/ort_libtorch.log"; then
    echo "bench: run_ort_libtorch.sh failed (see $out/ort_libtorch.log); its rows are left out" >&2
    rm -f "$out/ort_libtorch.json"
  fi
fi

/usr/bin/python3 "$root/tools/plot_bench.py" --command "$command_line" --markdown "$root/benchmarks/RESULTS.md" \
  --png "$root/benchmarks/results.png" "$out"/*.json
echo "bench: wrote benchmarks/RESULTS.md and benchmarks/results.png"
