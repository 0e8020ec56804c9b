// libFuzzer target: the image operations with the sizes and options a caller passes —
// crop, center_crop, resize (every interpolation, with and without antialias, whole or a
// window), resize_shorter, pad (every mode), to_rgb, normalize and the ImagePreprocessor —
// on small images of any shape, empty ones included. Each either gives a result of the
// documented shape or throws mmm::Error. Sizes are small, or impossible (negative, past
// the largest image side, near 2^62), which must be refused before anything is allocated.
#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "fuzz_input.hpp"
#include "mmm/preprocess/image.hpp"

namespace {
using namespace mmm;

template <class F>
void expect_error_or(F&& f) {
  try {
    f();
  } catch (const mmm::Error&) {
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Input in(data, size);
  const Index h = in.in_range(0, 24), w = in.in_range(0, 24);
  const int c = static_cast<int>(in.in_range(1, 4));
  std::vector<std::uint8_t> pixels(static_cast<std::size_t>(h * w * c));
  for (auto& p : pixels) p = static_cast<std::uint8_t>(in.bits(8));
  const Image image = Image::from_pixels(pixels.data(), pixels.size(), h, w, c);
  if (image.height() != h || image.width() != w || image.channels() != c) __builtin_trap();

  const int op = static_cast<int>(in.bits(8) % 8);
  const Interpolation interpolation = in.pick({Interpolation::nearest, Interpolation::bilinear, Interpolation::bicubic});
  const bool antialias = in.flag();
  switch (op) {
    case 0: {
      const Index top = in.bits(8) < 220 ? in.in_range(-30, 30) : in.impossible_size();
      const Index left = in.bits(8) < 220 ? in.in_range(-30, 30) : in.impossible_size();
      const Index ch = in.size(40), cw = in.size(40);
      expect_error_or([&] {
        const Image out = crop(image, top, left, ch, cw);
        if (out.height() != ch || out.width() != cw || out.channels() != c) __builtin_trap();
      });
      expect_error_or([&] {
        const Image out = center_crop(image, ch, cw);
        if (out.height() != ch || out.width() != cw) __builtin_trap();
      });
      break;
    }
    case 1: {
      const ImageSize to{in.size(64), in.size(64)};
      expect_error_or([&] {
        const Image out = resize(image, to, interpolation, antialias);
        if (out.height() != to.height || out.width() != to.width || out.channels() != c) __builtin_trap();
      });
      break;
    }
    case 2: {
      const Index shorter = in.size(64), max_size = in.bits(8) < 128 ? 0 : in.size(128);
      expect_error_or([&] { (void)resize_shorter(image, shorter, interpolation, antialias, max_size); });
      break;
    }
    case 3: {  // a window of a resize, as the preprocessor asks for
      const ImageSize to{in.size(48), in.size(48)};
      const Window window{in.size(48), in.size(48), in.size(48), in.size(48)};
      expect_error_or([&] {
        Resizer r(interpolation, antialias);
        Index rows = 0;
        r.run(image, to, window, [&](Index k, const float*) {
          if (k != rows++) __builtin_trap();
        });
        if (rows != window.height && window.width != 0) __builtin_trap();
      });
      break;
    }
    case 4: {
      const Padding p{in.size(20), in.size(20), in.size(20), in.size(20)};
      const ImagePadMode mode = in.pick({ImagePadMode::constant, ImagePadMode::edge, ImagePadMode::reflect, ImagePadMode::symmetric});
      expect_error_or([&] {
        const Image out = pad(image, p, mode, static_cast<std::uint8_t>(in.bits(8)));
        if (out.height() != h + p.top + p.bottom || out.width() != w + p.left + p.right) __builtin_trap();
      });
      break;
    }
    case 5: {
      const Image rgb = to_rgb(image);
      if (rgb.height() != h || rgb.width() != w || rgb.channels() != 3) __builtin_trap();
      const int n = static_cast<int>(in.in_range(0, 5));
      std::array<float, 5> mean{}, stdev{};
      for (int i = 0; i < n; ++i) mean[i] = in.bits(8) < 200 ? 0.5f : in.number(), stdev[i] = in.bits(8) < 200 ? 0.25f : in.number();
      expect_error_or([&] {
        const Normalizer norm(std::span<const float>(mean.data(), static_cast<std::size_t>(n)),
                              std::span<const float>(stdev.data(), static_cast<std::size_t>(n)));
        const Tensor t = norm(image);
        if (!(t.shape() == Shape{1, c, h, w})) __builtin_trap();
        const Index items = in.size(3), item = in.in_range(-1, 3);
        Tensor batch(Shape{items < 0 || items > 3 ? 1 : items, c, h, w});
        norm(image, batch.view(), item);
      });
      break;
    }
    default: {
      PresetOptions o;
      o.resize = in.size(64);
      o.crop = in.size(64);
      o.interpolation = interpolation;
      o.antialias = antialias;
      for (float& m : o.mean) m = in.bits(8) < 220 ? 0.4f : in.number();
      for (float& s : o.std) s = in.bits(8) < 220 ? 0.2f : in.number();
      expect_error_or([&] {
        ImagePreprocessor p(o);
        const Tensor t = p(image);
        if (!(t.shape() == Shape{1, 3, o.crop, o.crop})) __builtin_trap();
        const Tensor again = p(image);  // the same plan, reused
        for (Index i = 0; i < t.numel(); ++i)
          if (!(t[i] == again[i]) && !(t[i] != t[i] && again[i] != again[i])) __builtin_trap();
      });
      break;
    }
  }
  return 0;
}
