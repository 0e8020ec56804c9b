"""Runs a command and checks its exit status and what it prints (mmm-run's ctests).

    check.py [--status N] [--stdout RE]... [--stderr RE]... [--stderr-once RE] -- COMMAND...
    check.py --concat-wav OUT IN...      writes the WAV files IN one after another to OUT

Each RE must match somewhere in the stream (re.MULTILINE: ^ is a line's start); --stderr-once
must match exactly once."""
import argparse
import re
import subprocess
import sys
import wave


def concat_wav(out, inputs):
    with wave.open(out, "wb") as w:
        for i, path in enumerate(inputs):
            with wave.open(path, "rb") as r:
                if i == 0:
                    w.setparams(r.getparams())
                w.writeframes(r.readframes(r.getnframes()))


def main():
    if sys.argv[1:2] == ["--concat-wav"]:
        concat_wav(sys.argv[2], sys.argv[3:])
        return 0
    split = sys.argv.index("--")
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--status", type=int, default=0)
    parser.add_argument("--stdout", action="append", default=[])
    parser.add_argument("--stderr", action="append", default=[])
    parser.add_argument("--stderr-once")
    args = parser.parse_args(sys.argv[1:split])
    result = subprocess.run(sys.argv[split + 1:], capture_output=True, text=True, timeout=50)
    print(f"$ {' '.join(sys.argv[split + 1:])}\n--- exit status {result.returncode}\n--- stdout\n{result.stdout}"
          f"--- stderr\n{result.stderr}---")
    failures = []
    if result.returncode != args.status:
        failures.append(f"exit status {result.returncode}, expected {args.status}")
    for stream, text, patterns in (("stdout", result.stdout, args.stdout), ("stderr", result.stderr, args.stderr)):
        failures += [f"{stream} does not match '{p}'" for p in patterns if not re.search(p, text, re.MULTILINE)]
    if args.stderr_once:
        n = len(re.findall(args.stderr_once, result.stderr, re.MULTILINE))
        if n != 1:
            failures.append(f"stderr matches '{args.stderr_once}' {n} times, expected once")
    for f in failures:
        print("FAILED:", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
