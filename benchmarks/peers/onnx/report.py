#!/usr/bin/python3
"""Puts the peers' Google Benchmark JSON side by side.

    report.py --manifest models/manifest.json --results DIR [--combined FILE|-]

Prints, on stderr, the median time per call of each case for ONNX Runtime (DIR/ort.json)
and libtorch (DIR/libtorch.json) and their ratio. With --combined, also writes one Google
Benchmark JSON holding both, its rows renamed family/engine/workload/threads:N as the
workload's report_as says (GEMM/ort/256x256x256/threads:1), the way mmm's own benchmarks
and scripts/bench.sh name them; '-' writes it to stdout.
"""
import argparse
import json
import os
import re
import sys

PEERS = ("ort", "libtorch")


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        return None
    except json.JSONDecodeError as error:  # e.g. a filter that left libtorch nothing to run
        print(f"report: ignoring {path}: {error}", file=sys.stderr)
        return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", required=True)
    parser.add_argument("--results", required=True)
    parser.add_argument("--combined")
    args = parser.parse_args()

    with open(args.manifest) as f:
        cases = {c["name"]: c for c in json.load(f)["cases"]}
    runs = {peer: load(os.path.join(args.results, f"{peer}.json")) for peer in PEERS}

    combined = {"context": {}, "benchmarks": []}
    medians = {}
    for peer, data in runs.items():
        if not data:
            continue
        for key in ("date", "host_name", "num_cpus", "mhz_per_cpu", "caches", "load_avg"):
            combined["context"].setdefault(key, data["context"].get(key))
        combined["context"][peer] = data["context"]
        for row in data["benchmarks"]:
            run_name = row.get("run_name", row["name"])
            match = re.fullmatch(rf"{peer}/(.*)/threads:(\d+)", run_name)
            if not match or match.group(1) not in cases:
                print(f"report: {peer}: row {run_name} names no case of the manifest", file=sys.stderr)
                continue
            case, threads = match.group(1), match.group(2)
            if row.get("aggregate_name") == "median" and not row.get("error_occurred"):
                medians.setdefault((case, threads), {})[peer] = row["real_time"]
            report = cases[case]["report"]
            parts = [report["family"], peer] + ([report["workload"]] if report["workload"] else [])
            renamed = "/".join(parts + [f"threads:{threads}"])
            suffix = row["name"][len(run_name):]  # _median, _mean, ... or nothing
            combined["benchmarks"].append({**row, "name": renamed + suffix, "run_name": renamed,
                                           "peer_name": row["name"]})

    print(f"{'median us per call':48} {'ort':>10} {'libtorch':>10} {'lt/ort':>7}", file=sys.stderr)
    for (case, threads), m in medians.items():
        ort, lt = m.get("ort"), m.get("libtorch")
        cell = lambda v: f"{v:10.1f}" if v is not None else f"{'-':>10}"
        ratio = f"{lt / ort:7.2f}" if ort and lt else f"{'-':>7}"
        print(f"{case + '/threads:' + threads:48} {cell(ort)} {cell(lt)} {ratio}", file=sys.stderr)

    if args.combined:
        text = json.dumps(combined, indent=1) + "\n"
        if args.combined == "-":
            sys.stdout.write(text)
        else:
            with open(args.combined, "w") as f:
                f.write(text)


if __name__ == "__main__":
    main()
