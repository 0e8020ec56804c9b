#!/usr/bin/env bash
# Builds and runs mmm's demos: image captioning (examples/caption: a ResNet-style encoder and
# a transformer decoder with beam search describe the shipped scenes), speech to text
# (examples/transcribe: log-mel, Conv1D front end, bidirectional LSTM and CTC beam search
# write down the shipped recordings), visual question answering (examples/vqa), then text to
# image (examples/draw: an LSTM text encoder and an Upsample/ConvTranspose2D generator draw
# the shipped prompts as PNGs in build-demo/drawings, each read back by the captioner).
# In the VQA model an image branch and a question branch run side by side (mmm::Parallel), joined by
# FusionConcat, answer questions about synthetic scenes; weights trained in PyTorch by
# tools/train_vqa.py and shipped in examples/vqa.
#   scripts/demo.sh                          the shipped scenes and questions
#   scripts/demo.sh --image x.png --question "what color is the circle?"
# Installs missing Debian packages first (scripts/deps.sh; needs root for that), then
# builds only the demo, in build-demo/, with build-demo/bin/mmm-run for your own files.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build="$root/build-demo"

bash "$root/scripts/deps.sh"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DMMM_BUILD_TESTS=OFF -DMMM_BUILD_BENCHMARKS=OFF \
      -DMMM_BUILD_EXAMPLES=ON -DMMM_ONLY_AREAS="vqa;caption;transcribe;assistant;draw;run" >/dev/null
cmake --build "$build" --target vqa caption transcribe assistant draw mmm-run -j2
if [ $# -eq 0 ]; then
  "$build/examples/caption/caption"
  echo
  "$build/examples/transcribe/transcribe"
  echo
  "$build/examples/assistant/assistant"
  echo
fi
"$build/examples/vqa/vqa" "$@"
if [ $# -eq 0 ]; then
  echo
  mkdir -p "$build/drawings"
  "$build/examples/draw/draw" -o "$build/drawings" --check
fi
