#!/usr/bin/env bash
# bench_attention against ONNX Runtime and libtorch in the same run: REPS rounds, each running
# mmm, then the peers on the same work (benchmarks/peers/run_ort_libtorch.sh with the attention
# workloads of benchmarks/peers/onnx/workloads.json), so all see the same background load;
# prints medians and ratios as Markdown (compare.py). Run it inside /work/tools/cpu bench.
#
#   benchmarks/attention/run.sh [BUILD_DIR]     (REPS=3 MIN_TIME=0.3 OMP_WAIT_POLICY=passive|active|default;
#                                                FILTER: a regex on mmm's rows, WORKLOADS on the peers' cases,
#                                                PEER_ARGS: more for run_ort_libtorch.sh, e.g. --no-libtorch)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=$(cd "${1:-$here/../../build-attention}" && pwd)
reps=${REPS:-3}
min_time=${MIN_TIME:-0.3}
filter=${FILTER:-.}
# As scripts/bench.sh: idle OpenMP workers wait passively on this shared machine.
# OMP_WAIT_POLICY=default runs every engine at its own default instead (libgomp's workers
# spin a while before they sleep, as ONNX Runtime's pool does): what a user gets, and what
# the per-token decoding row needs, whose ~20 short parallel regions per token each pay a
# wake-up under passive (see RESULTS.md).
policy=${OMP_WAIT_POLICY:-passive}
if [[ $policy == default ]]; then unset OMP_WAIT_POLICY; else export OMP_WAIT_POLICY=$policy; fi
workloads=${WORKLOADS:-'mha_512x8|encoder_layer_512x8x2048|gpt2_decoder_4x512'}
exe=$build/benchmarks/attention/bench_attention
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for ((r = 1; r <= reps; ++r)); do
  echo "attention: round $r/$reps: mmm" >&2
  "$exe" --benchmark_min_time="$min_time" --benchmark_filter="$filter" --benchmark_format=json >"$out/mmm.$r.json"
  echo "attention: round $r/$reps: ONNX Runtime, libtorch" >&2
  bash "$here/../peers/run_ort_libtorch.sh" --build "$build/peers" --filter "$workloads" --repetitions 3 \
    --min-time "$min_time" ${PEER_ARGS:-} --out "$out/peers.$r" >/dev/null 2>"$out/peers.$r.log" || { cat "$out/peers.$r.log" >&2; exit 1; }
done
/usr/bin/python3 "$here/compare.py" "$out" \
  "benchmarks/attention/run.sh (REPS=$reps MIN_TIME=$min_time OMP_WAIT_POLICY=$policy)"
