"""The peer: sentencepiece's native encoder (Debian python3-sentencepiece) on the same
models and lines as bench_text, one thread, the lines passed as one list so the loop runs
in C++. Prints Google-Benchmark-shaped JSON on stdout.

    /usr/bin/python3 benchmarks/text/sentencepiece_peer.py DATA_DIR [--min-time 0.5]
"""
import argparse
import json
import os
import time

import sentencepiece as spm

parser = argparse.ArgumentParser()
parser.add_argument("data")
parser.add_argument("--min-time", type=float, default=0.5)
args = parser.parse_args()
lines = open(os.path.join(args.data, "text.txt"), encoding="utf-8").read().splitlines()

results = []
for name, model in [("SentencePieceBpe", "sp_bpe.model"), ("SentencePieceUnigram", "sp_unigram.model")]:
    sp = spm.SentencePieceProcessor(model_file=os.path.join(args.data, model))
    ids = sp.encode(lines, num_threads=1)  # warm-up
    tokens = sum(map(len, ids))
    n, real, cpu = 0, 0.0, 0.0
    while real < args.min_time or n < 3:
        r0, c0 = time.perf_counter(), time.process_time()
        sp.encode(lines, num_threads=1)
        real += time.perf_counter() - r0
        cpu += time.process_time() - c0
        n += 1
    results.append({"name": f"{name}/sentencepiece", "run_type": "iteration", "iterations": n,
                    "real_time": real / n * 1e3, "cpu_time": cpu / n * 1e3, "time_unit": "ms", "tokens": tokens})
print(json.dumps({"benchmarks": results}))
