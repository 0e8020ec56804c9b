#!/usr/bin/env bash
# bench_text against sentencepiece's native encoder and npm js-tiktoken in the same run:
# REPS rounds, each running mmm then the peers on the same models and lines; prints
# medians and ratios. js-tiktoken is installed into BUILD_DIR/npm when missing.
#
#   benchmarks/text/run.sh [BUILD_DIR]        (REPS=5 MIN_TIME=0.5 by default)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=${1:-$here/../../build-text}
reps=${REPS:-5}
min_time=${MIN_TIME:-0.5}
exe=$build/benchmarks/text/bench_text
data=$build/benchmarks/text/data
[[ -f $data/sp_bpe.model ]] || /usr/bin/python3 "$here/prepare.py" "$data" >&2
npm_prefix=$build/npm
[[ -f $npm_prefix/node_modules/js-tiktoken/package.json ]] ||
  npm install --prefix "$npm_prefix" --no-audit --no-fund --loglevel=error js-tiktoken@1.0.21 >&2
[[ -f $data/o200k_base.tiktoken ]] || node "$here/tiktoken_peer.cjs" "$npm_prefix" "$data" --write-ranks
out=$(mktemp -d)
for ((r = 1; r <= reps; ++r)); do
  MMM_TEXT_BENCH_DIR=$data "$exe" --benchmark_min_time="$min_time" --benchmark_format=json >"$out/mmm.$r.json"
  /usr/bin/python3 "$here/sentencepiece_peer.py" "$data" --min-time "$min_time" >"$out/sentencepiece.$r.json"
  node "$here/tiktoken_peer.cjs" "$npm_prefix" "$data" --min-time "$min_time" >"$out/js-tiktoken.$r.json"
done
/usr/bin/python3 "$here/compare.py" "$out" "benchmarks/text/run.sh (REPS=$reps MIN_TIME=$min_time)"
rm -rf "$out"
