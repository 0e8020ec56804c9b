// Steady state allocates nothing: once an ImagePreprocessor, a Resizer and a decode target
// Image have seen an image size, further images of that size never reach operator new
// (decoding itself mallocs inside stb, which is outside this count).
#include <catch2/catch.hpp>

#include "mmm/preprocess/image/image.hpp"
#include "mmm/preprocess/image/crop.hpp"
#include "mmm/preprocess/image/pad.hpp"
#include "mmm/preprocess/image/preset.hpp"
#include "mmm/preprocess/image/resize.hpp"

#include "support/allocation_counter.hpp"

TEST_CASE("warm preprocessing allocates nothing", "[image][allocations]") {
  mmm::Image img(480, 640, 3), other(480, 640, 3);
  for (mmm::Index i = 0; i < img.bytes(); ++i) img.data()[i] = static_cast<std::uint8_t>(i * 7), other.data()[i] = static_cast<std::uint8_t>(i * 13);
  mmm::Image gray(300, 200, 1);
  mmm::ImagePreprocessor pre;
  mmm::Resizer resizer(mmm::Interpolation::bicubic, true);
  mmm::Tensor out(pre.output_shape());
  mmm::Image resized, cropped, padded;
  auto work = [&](const mmm::Image& a) {
    pre(a, out.data());
    pre(gray, out.data());
    resizer.resize(a, resized, {97, 131});
    mmm::center_crop(resized, cropped, 50, 60);
    mmm::pad(cropped, padded, {3, 2, 1, 4}, mmm::ImagePadMode::reflect);
  };
  work(img);
  work(img);  // a second size seen by the same objects (gray) may have grown buffers once
  const long before = mmm::test::allocations();
  for (int i = 0; i < 3; ++i) work(i % 2 ? img : other);
  CHECK(mmm::test::allocations() - before == 0);
}
