#!/usr/bin/python3
"""Turns Google Benchmark JSON files (medians of repetitions) into benchmarks/RESULTS.md
and a PNG plot.

Rows are named <family>/<engine>/<workload>[/threads:N][/real_time]; rows of different
engines with the same family and workload are one comparison. A `Peak/fma/threads:N` row
is the machine's measured FMA peak, which GFLOP/s rows are also given as a percentage of.
Ratios are mmm/peer speed (peer time ÷ mmm time): above 1 means mmm is faster.
"""
import argparse
import collections
import datetime
import json
import os
import platform
import re
import statistics

UNIT = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}


def load(paths):
    """Median per row name over every file and repetition it appears in."""
    samples = collections.defaultdict(list)
    context = None
    for path in paths:
        try:
            with open(path) as f:
                data = json.load(f)
        except (OSError, json.JSONDecodeError) as e:
            print(f"plot_bench: skipping {path}: {e}")
            continue
        context = context or data.get("context")
        for b in data.get("benchmarks", []):
            if b.get("run_type") == "aggregate" and b.get("aggregate_name") != "median":
                continue
            if b.get("error_occurred"):
                continue
            name = re.sub(r"/real_time$", "", b.get("run_name", b["name"]))
            name = re.sub(r"_median$", "", name)
            unit = UNIT[b.get("time_unit", "ns")]
            seconds, cpu = b["real_time"] * unit, b.get("cpu_time", 0.0) * unit
            flops = b.get("FLOPS")
            # Single-threaded rows are timed by the CPU time of the thread doing the work,
            # which a busy machine's preemptions do not inflate; FLOPS is per real second.
            threads = re.search(r"/threads:(\d+)", name)
            if threads and threads.group(1) == "1" and cpu > 0:
                if flops:
                    flops *= seconds / cpu
                seconds = cpu
            samples[name].append((seconds, flops))
    rows = {}
    for name, runs in samples.items():
        seconds = statistics.median(r[0] for r in runs)
        flops = [r[1] for r in runs if r[1]]
        rows[name] = {"seconds": seconds, "flops": statistics.median(flops) if flops else None, "runs": len(runs)}
    return rows, context or {}


def split(name):
    parts = name.split("/")
    if len(parts) < 3:
        return None
    threads = None
    rest = []
    for p in parts[2:]:
        m = re.fullmatch(r"threads:(\d+)", p)
        if m:
            threads = int(m.group(1))
        else:
            rest.append(p)
    return parts[0], parts[1], "/".join(rest), threads


def fmt_time(s):
    for unit, scale in (("s", 1), ("ms", 1e-3), ("µs", 1e-6)):
        if s >= scale:
            return f"{s / scale:.3g} {unit}"
    return f"{s / 1e-9:.3g} ns"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--command", required=True)
    ap.add_argument("--markdown", required=True)
    ap.add_argument("--png", required=True)
    ap.add_argument("json", nargs="+")
    args = ap.parse_args()
    rows, context = load(args.json)

    peak = {}
    groups = collections.OrderedDict()  # (family, workload, threads) -> {engine: row}
    for name, row in rows.items():
        parts = split(name)
        if not parts:
            continue
        family, engine, workload, threads = parts
        if family == "Peak":
            peak[threads] = row["flops"]
            continue
        groups.setdefault((family, workload, threads), {})[engine] = row

    # A peer row without a FLOPS counter (e.g. from another harness) does the same work as
    # mmm's row: its rate follows from the time ratio.
    for g in groups.values():
        m = g.get("mmm")
        for e, r in g.items():
            if e != "mmm" and not r["flops"] and m and m["flops"]:
                r["flops"] = m["flops"] * m["seconds"] / r["seconds"]
    engines = sorted({e for g in groups.values() for e in g if e != "mmm"})
    md = ["# Benchmark results", ""]
    md.append(f"Command: `{args.command}` — {datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC, "
              f"{platform.node()}, {context.get('num_cpus', '?')} CPUs at {context.get('mhz_per_cpu', '?')} MHz.")
    md.append("")
    md.append("Medians over the rounds (each round runs every engine once, in turn). GFLOP/s = 2·M·N·K / time, where "
              "time is the CPU time of the working thread for 1-thread rows (preemption by other work on this shared "
              "machine does not count against anyone) and real time for 2-thread rows (which a busy machine slows "
              "down, peers as much as mmm). % peak is of the FMA peak measured in the same run and the same way "
              "(`Peak/fma`). Ratio = peer time ÷ mmm time: above 1 means mmm is faster.")
    md.append("")
    if peak:
        md.append("| Measured FMA peak | GFLOP/s |")
        md.append("|---|---:|")
        for t in sorted(k for k in peak if k is not None):
            md.append(f"| {t} thread{'s' if t > 1 else ''} | {peak[t] / 1e9:.1f} |")
        md.append("")

    flop_groups = [(k, g) for k, g in groups.items() if any(r["flops"] for r in g.values())]
    time_groups = [(k, g) for k, g in groups.items() if not any(r["flops"] for r in g.values())]
    if flop_groups:
        header = "| Workload | Threads | mmm GFLOP/s | mmm % peak |"
        sep = "|---|---:|---:|---:|"
        for e in engines:
            header += f" {e} GFLOP/s | mmm/{e} |"
            sep += "---:|---:|"
        md += [header, sep]
        for (family, workload, threads), g in flop_groups:
            m = g.get("mmm")
            line = f"| {family} {workload} | {threads if threads else ''} |"
            if m and m["flops"]:
                pk = peak.get(threads)
                line += f" {m['flops'] / 1e9:.1f} | {100 * m['flops'] / pk:.0f}% |" if pk else f" {m['flops'] / 1e9:.1f} | |"
            else:
                line += " | |"
            for e in engines:
                r = g.get(e)
                if r and r["flops"]:
                    line += f" {r['flops'] / 1e9:.1f} |"
                    line += f" {r['seconds'] / m['seconds']:.2f} |" if m else " |"
                else:
                    line += " | |"
            md.append(line)
        md.append("")
    if time_groups:
        t_engines = sorted({e for _, g in time_groups for e in g if e != "mmm"})
        header = "| Workload | Threads | mmm time |"
        sep = "|---|---:|---:|"
        for e in t_engines:
            header += f" {e} time | mmm/{e} |"
            sep += "---:|---:|"
        md += ["## Other benchmarks (median real time)", "", header, sep]
        for (family, workload, threads), g in time_groups:
            m = g.get("mmm")
            line = f"| {family} {workload} | {threads if threads else ''} | {fmt_time(m['seconds']) if m else ''} |"
            for e in t_engines:
                r = g.get(e)
                line += f" {fmt_time(r['seconds'])} |" if r else " |"
                line += f" {r['seconds'] / m['seconds']:.2f} |" if (r and m) else " |"
            md.append(line)
        md.append("")
    md.append(f"Plot: `{os.path.basename(args.png)}`.")
    md.append("")
    with open(args.markdown, "w") as f:
        f.write("\n".join(md))

    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("plot_bench: matplotlib missing (Debian: python3-matplotlib), no plot")
        return
    thread_counts = sorted({k[2] for k, _ in flop_groups if k[2] is not None}) or [None]
    fig, axes = plt.subplots(len(thread_counts), 1, figsize=(12, 4.5 * len(thread_counts)), squeeze=False)
    all_engines = ["mmm"] + engines
    for ax, t in zip(axes[:, 0], thread_counts):
        items = [(k, g) for k, g in flop_groups if k[2] == t]
        labels = [f"{k[0]}\n{k[1]}" for k, _ in items]
        width = 0.8 / max(1, len(all_engines))
        for i, e in enumerate(all_engines):
            vals = [(g[e]["flops"] or 0) / 1e9 if e in g else 0 for _, g in items]
            ax.bar([x + i * width for x in range(len(items))], vals, width, label=e)
        if peak.get(t):
            ax.axhline(peak[t] / 1e9, color="k", linestyle="--", linewidth=1, label="measured FMA peak")
        ax.set_xticks([x + width * (len(all_engines) - 1) / 2 for x in range(len(items))])
        ax.set_xticklabels(labels, fontsize=8)
        ax.set_ylabel("GFLOP/s")
        ax.set_title(f"fp32 GEMM, {t} thread{'s' if t and t > 1 else ''}")
        ax.legend(fontsize=8, ncol=len(all_engines) + 1)
    fig.tight_layout()
    fig.savefig(args.png, dpi=100)


if __name__ == "__main__":
    main()
