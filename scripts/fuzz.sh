#!/usr/bin/env bash
# Long coverage-guided fuzzing of every libFuzzer target (ctest runs each for 20 s only).
#   scripts/fuzz.sh [MINUTES [NAME_REGEX]]     MINUTES per target (may be fractional), default 5;
#                                             NAME_REGEX picks targets by ctest name (fuzz.safetensors)
# Builds the targets (clang, -fsanitize=fuzzer,address,undefined) in $MMM_FUZZ_BUILD
# (default build/fuzz), then runs them one after another from a copy of each corpus, so
# that the repo's corpus only gains what matters: each input that crashes, leaks, hangs
# (-timeout=10 s) or runs out of memory (-rss_limit_mb=2048) is stored in the target's
# corpus as regress-<kind>-<sha1>, a regression input that the NAME.replay tests then run
# in every build. A target that stops on a finding is restarted for the time it has left.
# Prints executions and findings per target (also in $MMM_FUZZ_BUILD/fuzz-summary.txt);
# exits 1 when anything was found.
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${1:-5}
pattern=${2:-.}
build=${MMM_FUZZ_BUILD:-build/fuzz}

if ! command -v clang++-14 >/dev/null && ! command -v clang++ >/dev/null; then
  echo "fuzz.sh: needs clang with libFuzzer (Debian: clang)" >&2
  exit 2
fi
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DMMM_BUILD_TESTS=ON -DMMM_FUZZ_SESSIONS=ON -DMMM_BUILD_BENCHMARKS=OFF \
  -DMMM_BUILD_EXAMPLES=OFF >/dev/null
targets_file="$build/fuzz_targets.txt"
mapfile -t targets < <(awk -v p="$pattern" '$1 ~ p' "$targets_file")
if [ ${#targets[@]} -eq 0 ]; then
  echo "fuzz.sh: no fuzz target matches '$pattern' (see $targets_file)" >&2
  exit 2
fi
builds=()
for line in "${targets[@]}"; do
  read -r _ binary _ <<<"$line"
  builds+=("$(basename "$binary")_build")
done
cmake --build "$build" -j "$(nproc)" --target "${builds[@]}"

summary="$build/fuzz-summary.txt"
: >"$summary"
found_any=0
printf '%-26s %8s %14s %9s\n' target minutes executions findings | tee -a "$summary"
for line in "${targets[@]}"; do
  read -r name binary corpus <<<"$line"
  work="$build/fuzz-work/$name"
  rm -rf "$work" && mkdir -p "$work/corpus" "$work/findings"
  cp -r "$corpus"/. "$work/corpus/"
  deadline=$(($(date +%s) + $(awk "BEGIN { printf \"%d\", $minutes * 60 }")))
  executions=0
  findings=0
  while :; do
    left=$((deadline - $(date +%s)))
    [ "$left" -gt 0 ] || break
    log="$work/run-$(date +%s).log"
    # -use_value_profile finds comparisons with magic numbers (header fields, sizes).
    (cd "$work" && "$binary" -max_total_time="$left" -rss_limit_mb=2048 -timeout=10 -use_value_profile=1 \
      -print_final_stats=1 -artifact_prefix="$work/findings/" corpus) >"$log" 2>&1 || true
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1 || true)
    executions=$((executions + ${runs:-0}))
    stored=0
    for artifact in "$work"/findings/*; do
      [ -f "$artifact" ] || continue
      kind=$(basename "$artifact" | cut -d- -f1)
      dest="$corpus/regress-$kind-$(sha1sum "$artifact" | cut -c1-12)"
      if [ ! -e "$dest" ]; then
        cp "$artifact" "$dest"
        echo "fuzz.sh: $name found a $kind: stored $dest (log: $log)" >&2
        findings=$((findings + 1))
      fi
      rm -f "$artifact"
      stored=1
    done
    # Stopped early without a finding (an error in the harness itself): do not spin.
    [ "$stored" -eq 1 ] || break
    [ "$findings" -lt 5 ] || break
  done
  [ "$findings" -eq 0 ] || found_any=1
  printf '%-26s %8s %14s %9s\n' "$name" "$minutes" "$executions" "$findings" | tee -a "$summary"
done
exit "$found_any"
