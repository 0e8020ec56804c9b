#!/usr/bin/env bash
# Builds and runs the consumer project against mmm in one of the three supported ways:
#   check.sh subdirectory|package|copy|readme SOURCE_DIR WORK_DIR
set -euo pipefail
mode=$1 src=$2 work=$3
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$work" && mkdir -p "$work"
cd "$work"

case "$mode" in
  subdirectory)
    cmake -S "$here/consumer" -B build -DMMM_CONSUME=subdirectory -DMMM_SOURCE_DIR="$src" -DCMAKE_BUILD_TYPE=Release
    cmake --build build -j2
    ;;
  package)
    cmake -S "$src" -B mmm-build -DMMM_BUILD_TESTS=OFF -DMMM_BUILD_BENCHMARKS=OFF -DMMM_BUILD_EXAMPLES=OFF
    cmake --install mmm-build --prefix "$work/prefix"
    test -f "$work/prefix/include/mmm/pipeline.hpp"
    cmake -S "$here/consumer" -B build -DMMM_CONSUME=package -DCMAKE_PREFIX_PATH="$work/prefix" -DCMAKE_BUILD_TYPE=Release
    cmake --build build -j2
    ;;
  copy)
    # Vendoring by hand: mmm's include/ plus the dependency headers, one compiler line.
    mkdir -p vendor
    cp -r "$src/include/mmm" vendor/
    cp -r /usr/include/eigen3/Eigen /usr/include/eigen3/unsupported vendor/
    cp -r /usr/include/xsimd vendor/
    cp -r /usr/include/nlohmann vendor/
    mkdir -p build
    # With libjpeg-turbo, the README's flags for exact JPEG decoding.
    jpeg=()
    [[ -f /usr/include/jpeglib.h ]] && jpeg=(-DMMM_HAS_LIBJPEG -ljpeg)
    ${CXX:-c++} -std=c++20 -O2 -I vendor "$here/consumer/main.cpp" "${jpeg[@]}" -o build/consumer
    ;;
  readme)
    # The README's example must compile as printed: take its first C++ block.
    awk '/^```cpp$/ {on=1; next} /^```$/ && on {exit} on' "$src/README.md" > readme_example.cpp
    test -s readme_example.cpp
    ${CXX:-c++} -std=c++20 -fsyntax-only -Wall -Wextra -Werror -I "$src/include" -I /usr/include/eigen3 readme_example.cpp
    echo "README example compiles"
    exit 0
    ;;
  *) echo "unknown mode $mode" >&2; exit 2 ;;
esac
# Where libjpeg-turbo is installed, every way of taking mmm must decode JPEGs with it.
expect_jpeg=0
[[ -f /usr/include/jpeglib.h ]] && expect_jpeg=1
./build/consumer "$work/consumer.safetensors" "$src/tests/image/corpus/baseline.jpg" "$expect_jpeg"
