#!/usr/bin/env bash
# bench_audio against torchaudio in the same run: REPS rounds, each running mmm then the
# peer, so both see the same background load; prints medians and ratios as Markdown.
#
#   benchmarks/audio/run.sh [BUILD_DIR]        (REPS=5 MIN_TIME=0.5 by default)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=${1:-$here/../../build-audio}
reps=${REPS:-5}
min_time=${MIN_TIME:-0.5}
exe=$build/benchmarks/audio/bench_audio
out=$(mktemp -d)
for ((r = 1; r <= reps; ++r)); do
  "$exe" --benchmark_min_time="$min_time" --benchmark_format=json >"$out/mmm.$r.json"
  # torch's BLAS is not used here, but the peer runs as any PyTorch peer does on this machine.
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 "$here/torchaudio_peer.py" --min-time "$min_time" \
    >"$out/torchaudio.$r.json"
done
/usr/bin/python3 "$here/compare.py" "$out" "benchmarks/audio/run.sh (REPS=$reps MIN_TIME=$min_time)"
rm -rf "$out"
