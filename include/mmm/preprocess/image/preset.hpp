#pragma once
// The classic ImageNet evaluation transform, fused:
//   Resize(256) → CenterCrop(224) → ToTensor → Normalize(ImageNet mean, std)
// i.e. with torchvision on a uint8 tensor t:
//   F.normalize(F.convert_image_dtype(F.center_crop(F.resize(t, 256, BILINEAR,
//               antialias=True), 224)), mean, std)
// Only the crop of the resized image is computed, and every pixel goes from the float
// resize straight to its normalised value (round to uint8 as torchvision does, then a table
// look-up), so the result matches the unfused torchvision chain. Gray or RGBA inputs are
// first made RGB as PIL's convert("RGB") does.
//
// An ImagePreprocessor keeps its weights and buffers: after the first image of a given
// size it allocates nothing. One per thread.

#include <array>
#include <cstdint>
#include <string>

#include "mmm/core/errors.hpp"
#include "mmm/core/tensor.hpp"
#include "mmm/preprocess/image/image.hpp"
#include "mmm/preprocess/image/crop.hpp"
#include "mmm/preprocess/image/normalize.hpp"
#include "mmm/preprocess/image/resize.hpp"

namespace mmm {

struct PresetOptions {
  index resize = 256;  // the shorter side after resizing
  index crop = 224;    // the square center crop taken from that
  Interpolation interpolation = Interpolation::bilinear;
  bool antialias = true;
  std::array<float, 3> mean = imagenet_mean;
  std::array<float, 3> std = imagenet_std;
};

class ImagePreprocessor {
 public:
  explicit ImagePreprocessor(const PresetOptions& options = {})
      : options_(options), resizer_(options.interpolation, options.antialias), normalizer_(options.mean, options.std) {
    if (options.resize <= 0 || options.crop <= 0 || options.resize > image_max_side || options.crop > image_max_side)
      throw RangeError("ImagePreprocessor: resize and crop sizes must be in [1, " + std::to_string(image_max_side) +
                       "], got " + std::to_string(options.resize) + " and " + std::to_string(options.crop));
  }

  const PresetOptions& options() const noexcept { return options_; }
  Shape output_shape(index batch = 1) const { return {batch, 3, options_.crop, options_.crop}; }

  // Writes 3 planes of crop × crop floats at `out`. The first image of a size sizes the
  // buffers; memory the machine cannot give then is a ResourceError.
  void operator()(const Image& image, float* out) try {
    const Image& rgb = image.channels() == 3 ? image : (to_rgb(image, rgb_), rgb_);
    const ImageSize size = resize_shorter_side(rgb.height(), rgb.width(), options_.resize);
    const index crop = options_.crop, plane = crop * crop;
    const index top = center_crop_offset(size.height, crop), left = center_crop_offset(size.width, crop);
    // The part of the crop box inside the resized image; the rest is zero pixels.
    const index y0 = std::max<index>(top, 0), y1 = std::min<index>(top + crop, size.height);
    const index x0 = std::max<index>(left, 0), x1 = std::min<index>(left + crop, size.width);
    if (y0 > top || x0 > left || y1 < top + crop || x1 < left + crop)
      for (int c = 0; c < 3; ++c) std::fill_n(out + c * plane, plane, normalizer_(c, 0));
    const float* t0 = normalizer_.table(0);
    const float* t1 = normalizer_.table(1);
    const float* t2 = normalizer_.table(2);
    const index n = x1 - x0;
    resizer_.run(rgb, size, {y0, x0, y1 - y0, n}, [&](index k, const float* v) {
      const index o = (y0 + k - top) * crop + (x0 - left);
      float* d0 = out + o;
      float* d1 = d0 + plane;
      float* d2 = d1 + plane;
      for (index x = 0; x < n; ++x) {
        d0[x] = t0[round_to_u8(v[3 * x])];
        d1[x] = t1[round_to_u8(v[3 * x + 1])];
        d2[x] = t2[round_to_u8(v[3 * x + 2])];
      }
    });
  } catch (...) {
    rethrow_allocation_failure([&] {
      return "ImagePreprocessor (resize " + std::to_string(options_.resize) + ", crop " + std::to_string(options_.crop) +
             ") on a " + image.shape_str() + " image";
    });
  }

  // The image as [1, 3, crop, crop] (view it as Map<3>).
  Tensor operator()(const Image& image) {
    Tensor out(output_shape());
    (*this)(image, out.data());
    return out;
  }

  // Into item `item` of an [N, 3, crop, crop] batch.
  void operator()(const Image& image, TensorView<float> batch, index item) {
    if (!(batch.shape() == output_shape(batch.rank() == 4 ? batch.dim(0) : 0)))
      throw ShapeError("ImagePreprocessor: the batch must have shape [N, 3, " + std::to_string(options_.crop) + ", " +
                       std::to_string(options_.crop) + "], got " + batch.shape().str());
    if (item < 0 || item >= batch.dim(0))
      throw RangeError("ImagePreprocessor: batch item " + std::to_string(item) + " is outside a batch of " +
                       std::to_string(batch.dim(0)));
    (*this)(image, batch.data() + item * 3 * options_.crop * options_.crop);
  }

 private:
  PresetOptions options_;
  Resizer resizer_;
  Normalizer normalizer_;
  Image rgb_;
};

// One-shot ImageNet preset: [1, 3, 224, 224].
inline Tensor imagenet_preset(const Image& image) { return ImagePreprocessor()(image); }

}  // namespace mmm
