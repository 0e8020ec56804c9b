#pragma once
// Image preprocessing: everything between an image file and a vision model's input.
//
//   image/image.hpp      Image (8-bit HWC, 1-4 channels), Image::from_pixels, to_rgb
//   image/decode.hpp     decode_image / read_image / image_info: PNG, JPEG, BMP, GIF via
//                        stb_image when found (MMM_HAS_STB), with size limits
//   image/resize.hpp     Resizer / resize / resize_shorter (torchvision tensor resize:
//                        nearest, bilinear, bicubic, antialias)
//   image/crop.hpp       crop, center_crop (torchvision semantics, zero fill)
//   image/pad.hpp        pad: constant, edge, reflect, symmetric
//   image/normalize.hpp  Normalizer / normalize into float CHW (Map<C>), ImageNet mean/std
//   image/preset.hpp     ImagePreprocessor / imagenet_preset: resize → crop → normalize, fused
//   image/quantize.hpp   to_pixels: a generator's float CHW planes back to 8-bit pixels
//   image/encode.hpp     encode_png / write_png: PNG files (stored deflate), no library

#include "mmm/preprocess/image/image.hpp"
#include "mmm/preprocess/image/decode.hpp"
#include "mmm/preprocess/image/resize.hpp"
#include "mmm/preprocess/image/crop.hpp"
#include "mmm/preprocess/image/pad.hpp"
#include "mmm/preprocess/image/normalize.hpp"
#include "mmm/preprocess/image/preset.hpp"
#include "mmm/preprocess/image/quantize.hpp"
#include "mmm/preprocess/image/encode.hpp"
