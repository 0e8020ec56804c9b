// Image preprocessing throughput, one thread: the ImageNet eval transform of a 640×480 JPEG
// (decode → resize shorter side to 256, bilinear, antialias → center crop 224 → normalize
// into a 1×3×224×224 Map<3>), and its parts. The peer (torchvision, same work, same JPEG)
// is torchvision_peer.py; run.sh runs both and prints the ratios.
//
// The JPEG is $MMM_IMAGE_BENCH_JPEG when set (run.sh writes one with PIL), else a synthetic
// 640×480 picture encoded here with stb_image_write.
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "mmm/preprocess/image/decode.hpp"
#include "mmm/preprocess/image/preset.hpp"
#include "mmm/preprocess/image/resize.hpp"

#if defined(MMM_HAS_STB)
#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#include <stb_image_write.h>
#pragma GCC diagnostic pop
#endif

namespace {

// Rows of the stb_image fallback (bench_image_stb, or a build without libjpeg) are told apart.
#if defined(MMM_HAS_LIBJPEG)
#define MMM_BENCH_DECODER "mmm"
#else
#define MMM_BENCH_DECODER "mmm-stb"
#endif

using Bytes = std::vector<std::uint8_t>;

Bytes synthetic_jpeg() {
  Bytes out;
#if defined(MMM_HAS_STB)
  const int w = 640, h = 480;
  std::vector<std::uint8_t> px(static_cast<std::size_t>(w * h * 3));
  std::uint32_t seed = 12345;
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c) {
        seed = seed * 1664525u + 1013904223u;
        const double v = 128 + 90 * std::sin(0.013 * x * (c + 1) + 0.021 * y) + 30 * std::cos(0.05 * (x + y)) +
                         double(seed >> 28) - 8;
        px[static_cast<std::size_t>((y * w + x) * 3 + c)] = static_cast<std::uint8_t>(std::clamp(v, 0.0, 255.0));
      }
  stbi_write_jpg_to_func(
      [](void* ctx, void* data, int size) {
        auto* o = static_cast<Bytes*>(ctx);
        o->insert(o->end(), static_cast<std::uint8_t*>(data), static_cast<std::uint8_t*>(data) + size);
      },
      &out, w, h, 3, px.data(), 90);
#endif
  return out;
}

const Bytes& jpeg() {
  static const Bytes bytes = [] {
    if (const char* path = std::getenv("MMM_IMAGE_BENCH_JPEG")) {
      std::ifstream in(path, std::ios::binary);
      if (!in) throw mmm::IoError(std::string(path) + ": cannot open the benchmark JPEG");
      return Bytes{std::istreambuf_iterator<char>(in), {}};
    }
    return synthetic_jpeg();
  }();
  return bytes;
}

void set_items(benchmark::State& state) { state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations())); }

// The whole eval transform, JPEG bytes to the model's input.
void BM_Preset(benchmark::State& state) {
  mmm::Image img;
  mmm::ImagePreprocessor pre;
  mmm::Tensor out(pre.output_shape());
  for (auto _ : state) {
    mmm::decode_image(jpeg(), img);
    pre(img, out.data());
    benchmark::DoNotOptimize(out.data());
  }
  set_items(state);
}
BENCHMARK(BM_Preset)->Name("Preset/" MMM_BENCH_DECODER "/jpeg640x480_to_224")->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_Decode(benchmark::State& state) {
  mmm::Image img;
  for (auto _ : state) {
    mmm::decode_image(jpeg(), img);
    benchmark::DoNotOptimize(img.data());
  }
  set_items(state);
}
BENCHMARK(BM_Decode)->Name("Decode/" MMM_BENCH_DECODER "/jpeg640x480")->Unit(benchmark::kMillisecond)->UseRealTime();

// Resize → crop → normalize from decoded pixels.
void BM_Transform(benchmark::State& state) {
  const mmm::Image img = mmm::decode_image(jpeg());
  mmm::ImagePreprocessor pre;
  mmm::Tensor out(pre.output_shape());
  for (auto _ : state) {
    pre(img, out.data());
    benchmark::DoNotOptimize(out.data());
  }
  set_items(state);
}
BENCHMARK(BM_Transform)->Name("Transform/mmm/640x480_to_224")->Unit(benchmark::kMillisecond)->UseRealTime();

// Resize alone: 640×480 → 341×256 (shorter side 256), the whole output.
void BM_Resize(benchmark::State& state) {
  const auto mode = static_cast<mmm::Interpolation>(state.range(0));
  const bool antialias = state.range(1) != 0;
  const mmm::Image img = mmm::decode_image(jpeg());
  mmm::Resizer resizer(mode, antialias);
  mmm::Image out;
  const mmm::ImageSize size = mmm::resize_shorter_side(img.height(), img.width(), 256);
  for (auto _ : state) {
    resizer.resize(img, out, size);
    benchmark::DoNotOptimize(out.data());
  }
  set_items(state);
}
BENCHMARK(BM_Resize)
    ->Name("Resize/mmm/640x480_to_341x256")
    ->ArgNames({"mode", "aa"})
    ->Args({int(mmm::Interpolation::bilinear), 1})
    ->Args({int(mmm::Interpolation::bicubic), 1})
    ->Args({int(mmm::Interpolation::bilinear), 0})
    ->Args({int(mmm::Interpolation::nearest), 0})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
