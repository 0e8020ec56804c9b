#!/usr/bin/env bash
# Builds and runs mmm's four applications on the inputs shipped in the repo, each printing
# its result and its latency:
#   image captioning   examples/caption: a ResNet-style CNN and a transformer decoder with
#                      beam search describe the shipped scenes in a sentence each
#   speech to text     examples/transcribe: log-mel, a Conv1D front end, a bidirectional LSTM
#                      and CTC beam search write down the shipped recordings
#   the assistant      examples/assistant: image tokens (CNN) and question tokens (LSTM) in one
#                      sequence, a decoder-only transformer with a KV cache answers in words
#   text to image      examples/draw: an LSTM text encoder and an Upsample/ConvTranspose2D
#                      generator draw the shipped prompts as PNGs in build-demo/drawings, each
#                      read back by the captioner
# All trained here in PyTorch on synthetic data (tools/train_*.py), shipped as safetensors.
#   scripts/demo.sh                                             the shipped inputs
#   scripts/demo.sh --image x.png --question "what colour is the square?"    the assistant on yours
# Installs missing Debian packages first (scripts/deps.sh; needs root for that), then
# builds only the applications (-O3), in build-demo/, with build-demo/bin/mmm-run for your
# own files.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build="$root/build-demo"

image="" question=""
while [ $# -gt 0 ]; do
  case "$1" in
    --image) image=${2:?--image needs a file}; shift 2 ;;
    --question) question=${2:?--question needs a question}; shift 2 ;;
    -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "demo.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
if [ -n "$image$question" ] && { [ -z "$image" ] || [ -z "$question" ]; }; then
  echo "demo.sh: --image and --question go together" >&2
  exit 2
fi

bash "$root/scripts/deps.sh"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DMMM_BUILD_TESTS=OFF -DMMM_BUILD_BENCHMARKS=OFF \
      -DMMM_BUILD_EXAMPLES=ON -DMMM_ONLY_AREAS="caption;transcribe;assistant;draw;run" >/dev/null
cmake --build "$build" --target caption transcribe assistant draw mmm-run -j2

if [ -n "$image" ]; then
  exec "$build/examples/assistant/assistant" "$image" "$question"
fi
section() { printf '\n==== %s\n\n' "$1"; }
section "Image captioning (examples/caption)"
"$build/examples/caption/caption"
section "Speech to text (examples/transcribe)"
"$build/examples/transcribe/transcribe"
section "The multimodal assistant (examples/assistant)"
"$build/examples/assistant/assistant"
section "Text to image (examples/draw), read back by the captioner"
mkdir -p "$build/drawings"
"$build/examples/draw/draw" -o "$build/drawings" --check
section "Your own files"
echo "$build/bin/mmm-run --help   (caption IMAGE, transcribe WAV, ask IMAGE QUESTION, draw \"PROMPT\" -o out.png)"
