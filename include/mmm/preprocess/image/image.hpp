#pragma once
// Decoded pixels: `Image` is 8-bit, interleaved height × width × channels (HWC), rows
// packed, 1 to 4 channels (gray, gray+alpha, RGB, RGBA) — the layout of a PIL image turned
// into a numpy array, and of every decoder's output. Float planes (CHW) are mmm::Tensor, made
// by normalize() in image/normalize.hpp.
//
// An Image owns 64-byte-aligned storage and keeps its capacity across reshape(), so that a
// decoder or a resize writing into the same Image call after call touches no allocator.

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <span>
#include <string>

#include "mmm/core/checked.hpp"
#include "mmm/core/errors.hpp"
#include "mmm/core/tensor.hpp"

namespace mmm {

// Larger than any camera image and than PIL's default bomb limit (89,478,485 pixels); small
// enough that height × width × 4 never overflows anything.
inline constexpr index image_max_side = 1 << 24;

class Image {
 public:
  Image() = default;
  // Zero-filled image.
  Image(index height, index width, int channels) {
    reshape(height, width, channels);
    if (bytes() > 0) std::memset(data_.get(), 0, static_cast<std::size_t>(bytes()));
  }

  // A copy of caller-owned pixels. `row_stride` is the distance in bytes between rows
  // (0: packed, width × channels); `size` is how many bytes `pixels` really holds, so
  // that a buffer shorter than its claimed shape is an error, not a read past its end.
  static Image from_pixels(const std::uint8_t* pixels, std::size_t size, index height, index width, int channels,
                           index row_stride = 0, const std::string& what = "pixel buffer") {
    check_shape(height, width, channels, what);
    const index packed = width * channels;
    if (row_stride == 0) row_stride = packed;
    if (row_stride < packed)
      throw ShapeError(what + ": row stride " + std::to_string(row_stride) + " bytes is shorter than a row of " +
                       std::to_string(width) + " pixels × " + std::to_string(channels) + " channels");
    Image image;
    image.reshape(height, width, channels);
    if (image.empty()) return image;  // nothing to read: `pixels` may be null
    // The last row need not be padded to the stride. A stride from a caller is any index:
    // the product is checked, not wrapped into a small size that would pass.
    const index needed = checked_add(checked_mul(row_stride, height - 1, what), packed, what);
    if (pixels == nullptr || size < static_cast<std::size_t>(needed))
      throw ShapeError(what + ": " + std::to_string(height) + "×" + std::to_string(width) + "×" +
                       std::to_string(channels) + " pixels need " + std::to_string(needed) + " bytes, the buffer has " +
                       std::to_string(size));
    for (index y = 0; y < height; ++y)
      std::memcpy(image.row(y), pixels + y * row_stride, static_cast<std::size_t>(packed));
    return image;
  }
  static Image from_pixels(std::span<const std::uint8_t> pixels, index height, index width, int channels,
                           const std::string& what = "pixel buffer") {
    return from_pixels(pixels.data(), pixels.size(), height, width, channels, 0, what);
  }

  Image(const Image& other) { *this = other; }
  Image& operator=(const Image& other) {
    if (this != &other) {
      reshape(other.height_, other.width_, other.channels_);
      if (bytes() > 0) std::memcpy(data_.get(), other.data_.get(), static_cast<std::size_t>(bytes()));
    }
    return *this;
  }
  Image(Image&&) noexcept = default;
  Image& operator=(Image&&) noexcept = default;

  // New shape; reuses the storage when it is large enough. Pixel values are unspecified.
  void reshape(index height, index width, int channels) {
    check_shape(height, width, channels, "Image");
    const index needed = height * width * channels;
    if (needed > capacity_) {
      data_ = allocate_aligned<std::uint8_t>(needed, [&] {
        return "Image " + std::to_string(height) + "×" + std::to_string(width) + "×" + std::to_string(channels);
      });
      capacity_ = needed;
    }
    height_ = height;
    width_ = width;
    channels_ = channels;
  }

  index height() const noexcept { return height_; }
  index width() const noexcept { return width_; }
  int channels() const noexcept { return channels_; }
  index row_bytes() const noexcept { return width_ * channels_; }
  index bytes() const noexcept { return height_ * width_ * channels_; }
  bool empty() const noexcept { return bytes() == 0; }

  std::uint8_t* data() noexcept { return data_.get(); }
  const std::uint8_t* data() const noexcept { return data_.get(); }
  std::uint8_t* row(index y) noexcept { return data_.get() + y * row_bytes(); }
  const std::uint8_t* row(index y) const noexcept { return data_.get() + y * row_bytes(); }
  std::uint8_t& at(index y, index x, int c) noexcept { return row(y)[x * channels_ + c]; }
  std::uint8_t at(index y, index x, int c) const noexcept { return row(y)[x * channels_ + c]; }
  std::span<const std::uint8_t> span() const noexcept { return {data(), static_cast<std::size_t>(bytes())}; }

  friend bool operator==(const Image& a, const Image& b) noexcept {
    return a.height_ == b.height_ && a.width_ == b.width_ && a.channels_ == b.channels_ &&
           (a.bytes() == 0 || std::memcmp(a.data(), b.data(), static_cast<std::size_t>(a.bytes())) == 0);
  }

  std::string shape_str() const {
    return std::to_string(height_) + "×" + std::to_string(width_) + "×" + std::to_string(channels_);
  }

  static void check_shape(index height, index width, int channels, const std::string& what) {
    if (channels < 1 || channels > 4)
      throw ShapeError(what + ": an image has 1 to 4 channels (gray, gray+alpha, RGB, RGBA), got " +
                       std::to_string(channels));
    if (height < 0 || width < 0 || height > image_max_side || width > image_max_side)
      throw ShapeError(what + ": image sides must be in [0, " + std::to_string(image_max_side) + "], got " +
                       std::to_string(height) + "×" + std::to_string(width));
  }

 private:
  AlignedArray<std::uint8_t> data_;
  index capacity_ = 0;
  index height_ = 0, width_ = 0;
  int channels_ = 3;
};

// The same pixels as RGB, the way PIL's convert("RGB") does it: gray is repeated, alpha is
// dropped (not blended). `out` is reshaped and reused.
inline void to_rgb(const Image& in, Image& out) {
  if (&in == &out) throw ShapeError("to_rgb: the output must be another Image than the input");
  out.reshape(in.height(), in.width(), 3);
  const int c = in.channels();
  const index n = in.height() * in.width();
  const std::uint8_t* s = in.data();
  std::uint8_t* d = out.data();
  if (c == 3) {
    if (n) std::memcpy(d, s, static_cast<std::size_t>(n * 3));
    return;
  }
  for (index i = 0; i < n; ++i, s += c, d += 3) {
    if (c <= 2) {
      d[0] = d[1] = d[2] = s[0];
    } else {
      d[0] = s[0], d[1] = s[1], d[2] = s[2];
    }
  }
}

inline Image to_rgb(const Image& in) {
  Image out;
  to_rgb(in, out);
  return out;
}

}  // namespace mmm
