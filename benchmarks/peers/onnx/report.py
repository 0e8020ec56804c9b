#!/usr/bin/python3
"""Merges the peers' Google Benchmark JSON and puts them side by side.

    report.py --manifest models/manifest.json --results DIR [--combined FILE|-]

Reads DIR/rounds/<peer>.<round>.json for peer ort and libtorch (one file per round: the
runner alternates the engines round by round, so both see the same background load),
writes DIR/<peer>.json with every round's rows (a "round" field added), and prints on
stderr the median time per call of each case and engine over the rounds' medians, and
libtorch's time over ONNX Runtime's. With --combined, also writes one Google Benchmark JSON
holding both, its rows renamed family/engine/workload/threads:N as the workload's
report_as says (GEMM/ort/256x256x256/threads:1), the way mmm's own benchmarks and
scripts/bench.sh name them; '-' writes it to stdout.
"""
import argparse
import json
import os
import re
import statistics
import sys

PEERS = ("ort", "libtorch")


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except json.JSONDecodeError as error:  # e.g. a filter that left libtorch nothing to run
        print(f"report: ignoring {path}: {error}", file=sys.stderr)
        return None


def merge_rounds(results, peer):
    """DIR/rounds/<peer>.<r>.json -> one report, rows tagged with their round."""
    rounds_dir = os.path.join(results, "rounds")
    names = os.listdir(rounds_dir) if os.path.isdir(rounds_dir) else []
    found = sorted((int(m.group(1)), n) for n in names if (m := re.fullmatch(rf"{peer}\.(\d+)\.json", n)))
    merged = None
    for number, name in found:
        data = load(os.path.join(rounds_dir, name))
        if not data:
            continue
        if merged is None:
            merged = {"context": {**data["context"], "rounds": len(found)}, "benchmarks": []}
        merged["benchmarks"] += [{**row, "round": number} for row in data["benchmarks"]]
    if merged is not None:
        with open(os.path.join(results, f"{peer}.json"), "w") as f:
            json.dump(merged, f, indent=1)
            f.write("\n")
    return merged


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", required=True)
    parser.add_argument("--results", required=True)
    parser.add_argument("--combined")
    args = parser.parse_args()

    with open(args.manifest) as f:
        cases = {c["name"]: c for c in json.load(f)["cases"]}
    runs = {peer: merge_rounds(args.results, peer) for peer in PEERS}

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
                medians.setdefault((case, threads), {}).setdefault(peer, []).append(row["real_time"])
            report = cases[case]["report"]
            parts = [report["family"], peer] + ([report["workload"]] if report["workload"] else [])
            renamed = "/".join(parts + [f"threads:{threads}"])
            suffix = row["name"][len(run_name):]  # _median, _mean, ... or nothing
            combined["benchmarks"].append({**row, "name": renamed + suffix, "run_name": renamed,
                                           "peer_name": row["name"]})

    print(f"{'median us per call':48} {'ort':>10} {'libtorch':>10} {'lt/ort':>7}", file=sys.stderr)
    for (case, threads), m in medians.items():
        ort, lt = (statistics.median(m[p]) if p in m else None for p in PEERS)
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
