#pragma once
// Image preprocessing: everything between an image file and a vision model's input.
//
//   image.hpp            Image (8-bit HWC, 1-4 channels), Image::from_pixels, to_rgb
//   image_decode.hpp     decode_image / read_image / image_info: PNG, JPEG, BMP, GIF via
//                        stb_image when found (MMM_HAS_STB), with size limits
//   resize.hpp           Resizer / resize / resize_shorter (torchvision tensor resize:
//                        nearest, bilinear, bicubic, antialias)
//   image_crop.hpp       crop, center_crop (torchvision semantics, zero fill)
//   image_pad.hpp        pad: constant, edge, reflect, symmetric
//   image_normalize.hpp  Normalizer / normalize into float CHW (Map<C>), ImageNet mean/std
//   image_preset.hpp     ImagePreprocessor / imagenet_preset: resize → crop → normalize, fused

#include "mmm/preprocess/image.hpp"
#include "mmm/preprocess/image_decode.hpp"
#include "mmm/preprocess/resize.hpp"
#include "mmm/preprocess/image_crop.hpp"
#include "mmm/preprocess/image_pad.hpp"
#include "mmm/preprocess/image_normalize.hpp"
#include "mmm/preprocess/image_preset.hpp"
