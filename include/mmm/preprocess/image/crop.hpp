#pragma once
// Cropping with torchvision's semantics (transforms.functional.crop / center_crop on
// tensors): a crop box reaching outside the image is filled with zeros there, and
// center_crop places the box at round((size - crop) / 2) with Python's round (half to
// even), padding evenly (the extra pixel on the right/bottom) when the crop is larger.

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>

#include "mmm/core/errors.hpp"
#include "mmm/preprocess/image/image.hpp"

namespace mmm {

// Where center_crop starts along one axis, in image coordinates: negative when the crop is
// larger than the image (that many zero pixels come first).
inline index center_crop_offset(index size, index crop) {
  if (crop > size) return -((crop - size) / 2);
  const index k = size - crop;  // round(k / 2), ties to even
  const index half = k / 2;
  return (k % 2 == 1 && half % 2 == 1) ? half + 1 : half;
}

// The box [top, top + height) × [left, left + width) of `in`; outside the image, zeros.
// The box may lie anywhere within image_max_side of the image (so that no coordinate sum
// can overflow); its size is that of an Image.
inline void crop(const Image& in, Image& out, index top, index left, index height, index width) {
  if (&in == &out) throw ShapeError("crop: the output must be another Image than the input");
  if (height < 0 || width < 0)
    throw RangeError("crop: the crop size must not be negative, got " + std::to_string(height) + "×" +
                     std::to_string(width));
  Image::check_shape(height, width, in.channels(), "crop");
  if (top < -image_max_side || top > image_max_side || left < -image_max_side || left > image_max_side)
    throw RangeError("crop: the box's corner (" + std::to_string(top) + ", " + std::to_string(left) +
                     ") is more than " + std::to_string(image_max_side) + " pixels from the image");
  const int C = in.channels();
  out.reshape(height, width, C);
  if (out.bytes() > 0) std::memset(out.data(), 0, static_cast<std::size_t>(out.bytes()));
  const index x0 = std::max<index>(left, 0), x1 = std::min<index>(left + width, in.width());
  const index y0 = std::max<index>(top, 0), y1 = std::min<index>(top + height, in.height());
  if (x1 <= x0) return;
  for (index y = y0; y < y1; ++y)
    std::memcpy(out.row(y - top) + (x0 - left) * C, in.row(y) + x0 * C, static_cast<std::size_t>((x1 - x0) * C));
}

inline Image crop(const Image& in, index top, index left, index height, index width) {
  Image out;
  crop(in, out, top, left, height, width);
  return out;
}

inline void center_crop(const Image& in, Image& out, index height, index width) {
  if (height <= 0 || width <= 0)
    throw RangeError("center_crop: the crop size must be positive, got " + std::to_string(height) + "×" +
                     std::to_string(width));
  crop(in, out, center_crop_offset(in.height(), height), center_crop_offset(in.width(), width), height, width);
}

inline Image center_crop(const Image& in, index height, index width) {
  Image out;
  center_crop(in, out, height, width);
  return out;
}

}  // namespace mmm
