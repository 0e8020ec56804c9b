#!/usr/bin/env bash
# mmm's recurrent layers and their peers in one run: bench_sequence (LSTM/GRU(256→512) over
# 100 steps, and the real-time rows), then ONNX Runtime and libtorch on the same workloads
# (lstm_256x512, gru_256x512 of benchmarks/peers/onnx/workloads.json), then a table of the
# medians and the ratios mmm / ONNX Runtime. Run it inside `/work/tools/cpu bench` on a
# shared machine so that the three measure under the same load.
#
#   benchmarks/sequence/run.sh BUILD OUT [--repetitions N]
#
# BUILD is a build directory with benchmarks (bench_sequence) and BUILD/peers for the
# peers' exported models and libtorch harness; OUT receives mmm.json and the peers' JSON.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=$1 out=$2
shift 2
repetitions=5
while (($#)); do
  case "$1" in
    --repetitions) repetitions=$2; shift 2 ;;
    *) echo "run.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
mkdir -p "$out"
"$build/benchmarks/sequence/bench_sequence" --benchmark_repetitions="$repetitions" \
  --benchmark_report_aggregates_only=true --benchmark_out="$out/mmm.json" --benchmark_out_format=json >&2
"$here/../peers/run_ort_libtorch.sh" --build "$build/peers" --out "$out/peers" \
  --filter 'lstm_256x512|gru_256x512' --repetitions "$repetitions" >/dev/null
/usr/bin/python3 - "$out/mmm.json" "$out/peers/combined.json" <<'EOF'
import json, re, sys
median = {}
for path in sys.argv[1:]:
    for b in json.load(open(path))["benchmarks"]:
        if b.get("aggregate_name") == "median":
            scale = {"ns": 1e-6, "us": 1e-3, "ms": 1.0}[b["time_unit"]]
            median[re.sub(r"_median$", "", b["name"])] = b["real_time"] * scale
def key(name):  # LSTM/mmm/256x512/T=100/N:1/threads:2 -> (LSTM, N, threads)
    m = re.match(r"(\w+)/[\w-]+/256x512/T=100/N[:=](\d+)/threads:(\d+)", name)
    return m and (m[1], m[2], m[3])
rows = {}
for name, ms in median.items():
    k = key(name)
    if k:
        rows.setdefault(k, {})[name.split("/")[1]] = ms
print("| layer | N | threads | mmm ms | mmm-bf16 ms | ORT ms | libtorch ms | mmm/ORT | bf16/ORT |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
for (layer, n, t), r in sorted(rows.items(), key=lambda kv: (kv[0][0] != "LSTM", int(kv[0][1]), kv[0][2])):
    f = lambda e: f"{r[e]:.2f}" if e in r else "–"
    q = lambda e: f"{r[e] / r['ort']:.2f}" if e in r and "ort" in r else "–"
    print(f"| {layer} | {n} | {t} | {f('mmm')} | {f('mmm-bf16')} | {f('ort')} | {f('libtorch')} | {q('mmm')} | {q('mmm-bf16')} |")
print()
for name, ms in sorted(median.items()):
    if name.startswith("RealTime/"):
        print(f"{name}: {ms * 1e6:.0f} ns/sample")
EOF
