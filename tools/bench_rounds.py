"""The rounds of a side-by-side benchmark run, for the areas' compare.py scripts.

A run directory holds Google Benchmark JSON files, mmm's and a peer's for each round.
load_rounds() gathers every iteration row as (real ms, CPU ms) per benchmark name, in
milliseconds whatever unit each file used; median() reads a name's median over rounds.
"""
import glob
import json
import os
import statistics

_MS = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}


def load_rounds(directory, per_iteration=None):
    """Returns (rows, fields): rows[name] = [(real_ms, cpu_ms), ...] over rounds, divided by
    the row's `per_iteration` counter when given (e.g. transforms per iteration); fields[name]
    = the last row's raw JSON (its counters, such as tokens)."""
    rows, fields = {}, {}
    for path in sorted(glob.glob(os.path.join(directory, "*.json"))):
        with open(path) as f:
            for b in json.load(f)["benchmarks"]:
                if b.get("run_type", "iteration") != "iteration":
                    continue
                scale = _MS[b.get("time_unit", "ns")]
                per = b.get(per_iteration, 1) if per_iteration else 1
                name = b["name"].removesuffix("/real_time")
                rows.setdefault(name, []).append((b["real_time"] * scale / per, b["cpu_time"] * scale / per))
                fields[name] = b
    return rows, fields


def median(rows, name, which):
    """which: 0 for real time, 1 for CPU time."""
    return statistics.median(v[which] for v in rows[name])
