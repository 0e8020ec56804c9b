// Issue 15's reproductions for preprocessing: huge and empty image sizes, a JPEG that made
// stb_image shift by 32, SentencePiece models that made loading or encoding quadratic.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "mmm/preprocess/image.hpp"
#include "mmm/preprocess/text/sentencepiece.hpp"
#include "support.hpp"

using namespace mmm;
using mmm::test::message_of;

TEST_CASE("reproduction 4: huge image sizes are typed errors with the sizes asked for", "[hardening][r4]") {
  const std::uint8_t px[3] = {10, 20, 30};
  const Image one = Image::from_pixels(px, 1, 1, 3);
  constexpr Index side = Index(1) << 24;
  // crop or resize of a 1×1 image to 2^24×2^24: 2^48 × 3 bytes, refused before the allocator.
  CHECK_THAT(message_of<ResourceError>([&] { (void)crop(one, 0, 0, side, side); }),
             Catch::Contains("Image 16777216×16777216×3") && Catch::Contains("768.0 TiB"));
  CHECK_THROWS_AS(center_crop(one, side, side), ResourceError);
  CHECK_THROWS_AS(resize(one, {side, side}), ResourceError);
  // Past an image's largest side: refused by its range, the message shows the real sizes.
  CHECK_THAT(message_of<RangeError>([&] { (void)resize_shorter(one, Index(1) << 62); }),
             Catch::Contains("must be in [1, 16777216], got 4611686018427387904"));
  CHECK_THROWS_AS(resize_shorter(one, 256, Interpolation::bilinear, true, Index(1) << 62), RangeError);
  CHECK_THROWS_AS(center_crop(one, Index(1) << 31, Index(1) << 31), ShapeError);
  CHECK_THROWS_AS(crop(one, Index(1) << 62, 0, 1, 1), RangeError);
  CHECK_THROWS_AS(crop(one, 0, -(Index(1) << 62), 1, 1), RangeError);
  CHECK_THROWS_AS(pad(one, {.left = Index(1) << 62}), RangeError);
  CHECK_THROWS_AS(pad(one, {.top = side, .bottom = side}), ShapeError);  // the padded side
  CHECK_THROWS_AS(Image::from_pixels(px, 3, 2, 1, 3, Index(1) << 62), ShapeError);  // stride × rows wrapped
  for (Index crop_size : {Index(1) << 30, Index(1) << 31}) {
    INFO("crop " << crop_size);
    CHECK_THAT(message_of<RangeError>([&] { ImagePreprocessor p({.crop = crop_size}); }),
               Catch::Contains("ImagePreprocessor") && Catch::Contains(std::to_string(crop_size)));
  }
  // The largest crop allowed needs 3 · 2^48 floats: the first call refuses the tensor.
  ImagePreprocessor largest({.resize = 1, .crop = side});
  CHECK_THAT(message_of<ResourceError>([&] { (void)largest(one); }), Catch::Contains("Tensor of shape [1, 3, 16777216, 16777216]"));
  if (!mmm::test::under_asan) {  // a request the allocator is asked for and refuses
    ImagePreprocessor large({.resize = 1, .crop = Index(1) << 20});
    CHECK_THAT(message_of<ResourceError>([&] { (void)large(one); }), Catch::Contains("out of memory"));
  }
  // What fits still works.
  ImagePreprocessor normal;
  CHECK(normal(one).shape() == (Shape{1, 3, 224, 224}));
}

TEST_CASE("reproduction 7: empty images give empty results, without touching null pointers", "[hardening][r7]") {
  const std::uint8_t px[4] = {1, 2, 3, 4};
  const Image none = Image::from_pixels(px, 4, 3, 0, 3);  // passed null to memcpy
  CHECK(none.height() == 3);
  CHECK(none.width() == 0);
  CHECK(none.empty());
  CHECK(Image::from_pixels(nullptr, 0, 0, 5, 3).empty());
  const Normalizer n(imagenet_mean, imagenet_std);
  const Tensor planes = n(Image(0, 5, 3));  // offset a null pointer
  CHECK(planes.shape() == (Shape{1, 3, 0, 5}));
  const Image padded = pad(Image(1, 0, 3), {.top = 1});  // passed null to memset
  CHECK(padded.height() == 2);
  CHECK(padded.width() == 0);
  CHECK(pad(Image(0, 0, 3), {.left = 2, .top = 1}, ImagePadMode::constant, 9).at(0, 1, 2) == 9);
  CHECK(crop(Image(0, 0, 1), -1, -1, 2, 2).at(1, 1, 0) == 0);
  CHECK(to_rgb(Image(0, 7, 1)).width() == 7);
  CHECK_THROWS_AS(resize(Image(0, 4, 3), {2, 2}), ShapeError);
  ImagePreprocessor p;
  CHECK_THROWS_AS(p(Image(4, 0, 3)), ShapeError);
}
