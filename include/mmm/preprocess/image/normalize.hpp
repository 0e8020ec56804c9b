#pragma once
// From 8-bit HWC pixels to the float CHW planes a vision model takes:
//   out[c][y][x] = (pixel / 255 - mean[c]) / std[c]
// with the same float32 operations, in the same order, as torchvision's ToTensor (or
// convert_image_dtype) followed by Normalize — so the result is bit-identical. As a pixel
// has only 256 values, each channel's results are tabulated once and looked up.

#include <array>
#include <cmath>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "mmm/core/errors.hpp"
#include "mmm/core/kinds.hpp"
#include "mmm/core/tensor.hpp"
#include "mmm/preprocess/image/image.hpp"

namespace mmm {

// torchvision's ImageNet statistics (transforms in the model zoo's weights).
inline constexpr std::array<float, 3> imagenet_mean{0.485f, 0.456f, 0.406f};
inline constexpr std::array<float, 3> imagenet_std{0.229f, 0.224f, 0.225f};

class Normalizer {
 public:
  Normalizer(std::span<const float> mean, std::span<const float> std) {
    if (mean.size() != std.size() || mean.empty() || mean.size() > 4)
      throw ShapeError("normalize: mean and std need one value per channel (1 to 4), got " +
                       std::to_string(mean.size()) + " and " + std::to_string(std.size()));
    channels_ = static_cast<int>(mean.size());
    for (int c = 0; c < channels_; ++c) {
      const float m = mean[static_cast<std::size_t>(c)], s = std[static_cast<std::size_t>(c)];
      if (!std::isfinite(m) || !std::isfinite(s) || s == 0.0f)
        throw RangeError("normalize: channel " + std::to_string(c) + " needs a finite mean and a finite, non-zero std, got mean " +
                         std::to_string(m) + ", std " + std::to_string(s));
      for (int v = 0; v < 256; ++v) table_[static_cast<std::size_t>(c * 256 + v)] = (static_cast<float>(v) / 255.0f - m) / s;
    }
  }

  int channels() const noexcept { return channels_; }
  // The value a pixel `v` of channel `c` becomes.
  float operator()(int c, std::uint8_t v) const noexcept { return table_[static_cast<std::size_t>(c * 256 + v)]; }
  const float* table(int c) const noexcept { return table_.data() + c * 256; }

  // Writes the image as C planes of height × width floats at `out`.
  void operator()(const Image& image, float* out) const {
    check(image);
    const int C = channels_;
    const index plane = image.height() * image.width();
    if (plane == 0) return;  // an empty image may have no storage to offset into
    for (int c = 0; c < C; ++c) {
      const float* t = table(c);
      const std::uint8_t* s = image.data() + c;
      float* d = out + c * plane;
      for (index i = 0; i < plane; ++i) d[i] = t[s[i * C]];
    }
  }

  // The image as one batch item, [1, C, H, W].
  Tensor operator()(const Image& image) const {
    check(image);
    Tensor out(Shape{1, channels_, image.height(), image.width()});
    (*this)(image, out.data());
    return out;
  }

  // Into item `item` of a [N, C, H, W] batch whose H and W match the image.
  void operator()(const Image& image, TensorView<float> batch, index item) const {
    check(image);
    if (batch.rank() != 4 || batch.dim(1) != channels_ || batch.dim(2) != image.height() || batch.dim(3) != image.width())
      throw ShapeError("normalize: a " + image.shape_str() + " image needs a batch of shape [N, " +
                       std::to_string(channels_) + ", " + std::to_string(image.height()) + ", " +
                       std::to_string(image.width()) + "], got " + batch.shape().str());
    if (item < 0 || item >= batch.dim(0))
      throw RangeError("normalize: batch item " + std::to_string(item) + " is outside a batch of " +
                       std::to_string(batch.dim(0)));
    (*this)(image, batch.data() + item * channels_ * image.height() * image.width());
  }

 private:
  void check(const Image& image) const {
    if (image.channels() != channels_)
      throw ShapeError("normalize: mean and std are for " + std::to_string(channels_) + " channels, the image is " +
                       image.shape_str() + " (convert it with to_rgb first?)");
  }

  int channels_ = 0;
  std::array<float, 4 * 256> table_{};
};

// One-shot: the image as a [1, C, H, W] tensor (view it as Map<C>).
inline Tensor normalize(const Image& image, std::span<const float> mean, std::span<const float> std) {
  return Normalizer(mean, std)(image);
}

}  // namespace mmm
