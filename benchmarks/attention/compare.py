"""Medians over run.sh's rounds: mmm against ONNX Runtime and libtorch, as Markdown tables,
with the issue's targets (mmm time ÷ peer time)."""
import glob
import json
import os
import re
import statistics
import sys

out, command = sys.argv[1], sys.argv[2]
UNIT_MS = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}
times, counters = {}, {}  # (family, engine, workload, threads) -> [real ms per round]

for path in sorted(glob.glob(os.path.join(out, "mmm.*.json"))):
    with open(path) as f:
        for row in json.load(f)["benchmarks"]:
            if row.get("run_type", "iteration") != "iteration":
                continue
            family, engine, *workload, threads = row["name"].split("/")
            key = (family, engine, "/".join(workload), threads.split(":")[1])
            times.setdefault(key, []).append(row["real_time"] * UNIT_MS[row["time_unit"]])
            counters[key] = row
for path in sorted(glob.glob(os.path.join(out, "peers.*", "combined.json"))):
    with open(path) as f:
        for row in json.load(f)["benchmarks"]:
            if row.get("aggregate_name") != "median" or row.get("error_occurred"):
                continue
            family, engine, *workload, threads = row["run_name"].split("/")
            key = (family, engine, "/".join(workload), threads.split(":")[1])
            times.setdefault(key, []).append(row["real_time"] * UNIT_MS[row["time_unit"]])


def med(key):
    return statistics.median(times[key]) if key in times else None


def ms(v):
    return f"{v:.3f}" if v is not None and v < 10 else (f"{v:.1f}" if v is not None else "–")


def ratio(a, b):
    return f"{a / b:.2f}" if a is not None and b else "–"


rounds = max((len(v) for v in times.values()), default=0)
print(f"Command: `{command}`; medians of {rounds} rounds (each peer: the median of 3 repetitions per round), "
      "wall time per call in ms.\n")
print("| Workload | Threads | mmm | ONNX Runtime | libtorch | mmm/ORT | target | mmm/libtorch | mmm scratch MB |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
for family, workload, target in [("MHA", "512x8/1x256x512", 0.9), ("MHA", "512x8/1x2048x512", 0.8),
                                 ("EncoderLayer", "512x8x2048/1x256x512", 0.9)]:
    for threads in ("1", "2"):
        m, o, l = (med((family, e, workload, threads)) for e in ("mmm", "ort", "libtorch"))
        scratch = counters.get((family, "mmm", workload, threads), {}).get("scratch_bytes", 0) / 1e6
        print(f"| {family} {workload} | {threads} | {ms(m)} | {ms(o)} | {ms(l)} | {ratio(m, o)} | ≤ {target} | "
              f"{ratio(m, l)} | {scratch:.1f} |")

print("\nPer-token decoding, 4 GPT-2 blocks (512, 8 heads, MLP 2048) and a final LayerNorm, 512 positions cached:")
print("mmm with its KVCache; ONNX Runtime given the past keys/values as inputs (DecoderStep); libtorch's loop")
print("with cache tensors written in place; ONNX Runtime recomputing the 513-token prefix (DecoderPrefix).\n")
print("| Threads | mmm | ORT with past | libtorch cached | best cached peer | mmm/best (≤ 0.7) | ORT recompute | "
      "mmm/recompute (≤ 0.1) | mmm scratch KB | cache MB |")
print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for threads in ("1", "2"):
    m = med(("DecodeToken", "mmm", "4x512/cache_512", threads))
    o = med(("DecodeToken", "ort", "4x512/cache_512", threads))
    l = med(("DecodeToken", "libtorch", "4x512/cache_512", threads))
    r = med(("DecodeToken", "ort", "4x512/recompute_513", threads))
    best = min(v for v in (o, l) if v is not None) if (o or l) else None
    c = counters.get(("DecodeToken", "mmm", "4x512/cache_512", threads), {})
    print(f"| {threads} | {ms(m)} | {ms(o)} | {ms(l)} | {ms(best)} | {ratio(m, best)} | {ms(r)} | {ratio(m, r)} | "
          f"{c.get('scratch_bytes', 0) / 1e3:.0f} | {c.get('cache_bytes', 0) / 1e6:.1f} |")
