#!/usr/bin/env bash
# bench_apps and the same four applications in PyTorch eager (apps_torch.py) and ONNX Runtime
# (apps_ort.mjs), one after another, then the medians side by side with the ratios
# torch ÷ mmm (issue 14's target: ≥ 2) and ORT ÷ mmm (≥ 1). Run it under `/work/tools/cpu bench`:
#
#   benchmarks/apps/run.sh BUILD_DIR [REPETITIONS]
#
# BUILD_DIR holds benchmarks/apps/bench_apps (configured with -DMMM_BUILD_BENCHMARKS=ON). The
# peers run with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset (they halve OpenBLAS here);
# onnxruntime-node comes from benchmarks/peers/onnx (ONNXRUNTIME_NODE_INSTALL=skip npm ci).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=$1
repetitions=${2:-5}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
peer() { env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$@"; }

"$build/benchmarks/apps/bench_apps" --benchmark_repetitions="$repetitions" --benchmark_min_time=0.3 \
  --benchmark_report_aggregates_only=true | tee "$work/mmm.txt"
peer /usr/bin/python3 "$here/apps_torch.py" --export "$work/models" >/dev/null 2>&1
peer /usr/bin/python3 "$here/apps_torch.py" --repetitions "$repetitions" | tee "$work/torch.txt"
peer node "$here/apps_ort.mjs" "$work/models" --repetitions "$repetitions" | tee "$work/ort.txt"
/usr/bin/python3 - "$work" <<'PY'
import re, sys
ms = {}
for engine in ("mmm", "torch", "ort"):
    for line in open(f"{sys.argv[1]}/{engine}.txt"):
        m = re.match(r"(\w+)/\w+/threads:(\d)(_median)?\s+([\d.]+) ms", line)
        if m and (engine != "mmm" or m.group(3)):
            ms[(m.group(1), int(m.group(2)), engine)] = float(m.group(4))
print(f"\n{'app':20s}{'threads':>8s}{'mmm ms':>10s}{'torch ms':>10s}{'ORT ms':>10s}{'torch/mmm':>11s}{'ORT/mmm':>9s}")
for app in ("Caption", "Transcribe", "TranscribeFeatures", "Draw", "Ask"):
    for t in (1, 2):
        row = [ms.get((app, t, e)) for e in ("mmm", "torch", "ort")]
        if row[0] is None:
            continue
        cell = lambda v: f"{v:10.3f}" if v is not None else f"{'-':>10s}"
        ratio = lambda v, w: f"{v / row[0]:{w}.1f}" if v is not None else f"{'-':>{w}s}"
        print(f"{app:20s}{t:8d}{cell(row[0])}{cell(row[1])}{cell(row[2])}{ratio(row[1], 11)}{ratio(row[2], 9)}")
PY
