#!/usr/bin/env bash
# bench_image against torchvision in the same run: REPS rounds, each running mmm then the
# peer on the same 640×480 JPEG, so both see the same background load; prints medians and
# ratios as Markdown.
#
#   benchmarks/image/run.sh [BUILD_DIR]        (REPS=5 MIN_TIME=0.5 by default)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=${1:-$here/../../build-image}
reps=${REPS:-5}
min_time=${MIN_TIME:-0.5}
exe=$build/benchmarks/image/bench_image
exe_stb=$build/benchmarks/image/bench_image_stb
out=$(mktemp -d)
jpeg=$out/bench.jpg
/usr/bin/python3 "$here/torchvision_peer.py" --write-jpeg "$jpeg"
for ((r = 1; r <= reps; ++r)); do
  MMM_IMAGE_BENCH_JPEG=$jpeg "$exe" --benchmark_min_time="$min_time" --benchmark_format=json >"$out/mmm.$r.json"
  if [[ -x "$exe_stb" ]]; then  # the stb_image fallback, when the default build decodes with libjpeg-turbo
    MMM_IMAGE_BENCH_JPEG=$jpeg "$exe_stb" --benchmark_min_time="$min_time" --benchmark_filter='Preset|Decode' \
      --benchmark_format=json >"$out/mmm-stb.$r.json"
  fi
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 "$here/torchvision_peer.py" --jpeg "$jpeg" \
    --min-time "$min_time" >"$out/torchvision.$r.json"
done
/usr/bin/python3 "$here/compare.py" "$out" "benchmarks/image/run.sh (REPS=$reps MIN_TIME=$min_time)"
rm -rf "$out"
