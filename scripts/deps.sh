#!/usr/bin/env bash
# Installs the Debian packages mmm's build, tests, demo and benchmarks need, and only the
# missing ones. Idempotent: a second run installs nothing and says so.
#   scripts/deps.sh            build + tests + demo
#   scripts/deps.sh bench      also the benchmark peers (oneDNN, OpenBLAS, libtorch, plotting)
set -euo pipefail

build=(cmake g++ make pkg-config libeigen3-dev libxsimd-dev nlohmann-json3-dev libstb-dev)
tests=(catch2 libbenchmark-dev clang-14 libfuzzer-14-dev libclang-rt-14-dev libomp-14-dev
       python3-torch python3-numpy python3-torchvision python3-torchaudio
       python3-sentencepiece python3-pil python3-regex libjpeg62-turbo-dev espeak-ng)
bench=(libdnnl-dev libopenblas-dev libtorch-dev python3-matplotlib)

wanted=("${build[@]}" "${tests[@]}")
# Node.js runs the tokenizer references (npm js-tiktoken, tokenizers) and the ONNX Runtime
# peer; it may come from elsewhere with its own npm, which Debian's npm conflicts with.
command -v npm >/dev/null || wanted+=(nodejs npm)
if [[ "${1:-}" == bench ]]; then
  wanted+=("${bench[@]}")
fi

missing=()
for pkg in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done

if ((${#missing[@]} == 0)); then
  echo "deps: all ${#wanted[@]} Debian packages already installed"
  exit 0
fi

echo "deps: installing ${missing[*]}"
if [[ $(id -u) -ne 0 ]]; then
  echo "deps: need root to install packages (run as root, or install them yourself)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "deps: installed ${#missing[@]} packages"
