"""Medians over run.sh's rounds and the mmm/sentencepiece ratios, as a Markdown table."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
from bench_rounds import load_rounds, median  # noqa: E402

out, command = sys.argv[1], sys.argv[2]
rows, fields = load_rounds(out)
tokens = {name: int(b["tokens"]) for name, b in fields.items()}


def med(name, i):
    return median(rows, name, i)


print(f"Command: `{command}`; medians of {max(len(v) for v in rows.values())} rounds, 1 thread.\n")
print("Ratio = mmm time / peer time over the same lines (≤ 1.0: mmm at least as fast).\n")
print("| Workload | tokens | mmm ms (real / CPU) | peer ms (real / CPU) | mmm Mtok/s (CPU) | peer Mtok/s (CPU) | ratio (real) | ratio (CPU) |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
for work, peer in [("SentencePieceBpe", "sentencepiece"), ("SentencePieceUnigram", "sentencepiece"),
                   ("Gpt2Bpe", None), ("TiktokenCl100k", "js-tiktoken"), ("TiktokenO200k", "js-tiktoken")]:
    ours = f"{work}/mmm"
    if ours not in rows:
        continue
    r_m, c_m = med(ours, 0), med(ours, 1)
    n = tokens[ours]
    if peer and f"{work}/{peer}" in rows:
        p = f"{work}/{peer}"
        r_p, c_p = med(p, 0), med(p, 1)
        if tokens[p] != n:
            print(f"<!-- token counts differ: mmm {n}, peer {tokens[p]} -->")
        print(f"| {work} vs {peer} | {n:,} | {r_m:.1f} / {c_m:.1f} | {r_p:.1f} / {c_p:.1f} | {n / c_m / 1e3:.2f} | "
              f"{tokens[p] / c_p / 1e3:.2f} | {r_m / r_p:.2f} | {c_m / c_p:.2f} |")
    elif "SentencePieceBpe/sentencepiece" in rows:
        # No native byte-level BPE here; the nearest native work is sentencepiece's BPE on the same lines.
        p = "SentencePieceBpe/sentencepiece"
        r_p, c_p = med(p, 0), med(p, 1)
        print(f"| {work} vs sentencepiece BPE (same lines, other vocabulary) | {n:,} | {r_m:.1f} / {c_m:.1f} | "
              f"{r_p:.1f} / {c_p:.1f} | {n / c_m / 1e3:.2f} | {tokens[p] / c_p / 1e3:.2f} | {r_m / r_p:.2f} | {c_m / c_p:.2f} |")
