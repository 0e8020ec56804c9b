#pragma once
// From a generator's float CHW planes back to 8-bit HWC pixels, the inverse of
// image/normalize.hpp:
//   pixel = clamp(round((x · std[c] + mean[c]) · 255), 0, 255)
// in float32, in that order, rounding half to even (std::nearbyint in the default rounding
// mode; numpy's np.rint, which the PyTorch side uses: np.clip(np.rint((x * std + mean) *
// 255), 0, 255).astype(np.uint8)). NaN becomes 0. With std a power of two (0.5 for outputs
// of a tanh in [-1, 1]) the product x · std is exact, so a fused multiply-add gives the same
// bits as the two operations.

#include <cmath>
#include <span>
#include <string>

#include "mmm/core/errors.hpp"
#include "mmm/core/kinds.hpp"
#include "mmm/preprocess/image/image.hpp"

namespace mmm {

// Image `item` of `planes` (C channels) into `out` (reshaped to H×W×C, storage reused).
template <index C>
void to_pixels(const Map<C>& planes, index item, std::span<const float> mean, std::span<const float> std, Image& out) {
  static_assert(C >= 1 && C <= 4, "to_pixels: an Image has 1 to 4 channels");
  if (mean.size() != static_cast<std::size_t>(C) || std.size() != static_cast<std::size_t>(C))
    throw ShapeError("to_pixels: mean and std need one value per channel (" + std::to_string(C) + "), got " +
                     std::to_string(mean.size()) + " and " + std::to_string(std.size()));
  if (item < 0 || item >= planes.batch)
    throw RangeError("to_pixels: item " + std::to_string(item) + " of a batch of " + std::to_string(planes.batch));
  const index h = planes.height, w = planes.width, plane = h * w;
  out.reshape(h, w, C);
  const float* base = planes.data + item * C * plane;
  for (int c = 0; c < C; ++c) {
    const float m = mean[static_cast<std::size_t>(c)], s = std[static_cast<std::size_t>(c)];
    const float* src = base + c * plane;
    std::uint8_t* dst = out.data() + c;
    for (index i = 0; i < plane; ++i) {
      const float v = std::nearbyint((src[i] * s + m) * 255.0f);
      dst[i * C] = v >= 255.0f ? 255 : v > 0.0f ? static_cast<std::uint8_t>(v) : 0;  // NaN fails both: 0
    }
  }
}

}  // namespace mmm
