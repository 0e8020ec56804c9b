// Image preprocessing without an oracle: errors for corrupt, truncated, zero-sized and huge
// images and bad arguments; raw buffers; the decoder in two translation units; resize plans
// that allocate nothing once warm.
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "mmm/preprocess/image.hpp"  // the umbrella: also checks that it is complete

mmm::Image decode_in_second_tu(std::span<const std::uint8_t> bytes);
std::string failure_in_second_tu(std::span<const std::uint8_t> bytes);

namespace {

using Bytes = std::vector<std::uint8_t>;
using Index = mmm::Index;

Bytes corpus(const std::string& name) {
  const std::string path = std::string(MMM_IMAGE_CORPUS) + "/" + name;
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in);
  return Bytes{std::istreambuf_iterator<char>(in), {}};
}

const char* const corpus_files[] = {"rgb.png",  "gray.png",        "rgba.png", "palette.png", "rgb.bmp", "gray.bmp",
                                    "baseline.jpg", "progressive.jpg", "gray.jpg", "s444.jpg",    "small.gif"};

void put_be32(Bytes& b, std::size_t at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(v >> (24 - 8 * i));
}
void put_le32(Bytes& b, std::size_t at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(v >> (8 * i));
}

// Offset of the first JPEG start-of-frame marker's height field.
std::size_t jpeg_sof_dims(const Bytes& b) {
  for (std::size_t i = 2; i + 8 < b.size(); ++i)
    if (b[i] == 0xFF && (b[i + 1] == 0xC0 || b[i + 1] == 0xC2)) return i + 5;
  FAIL("no SOF marker");
  return 0;
}

}  // namespace

TEST_CASE("every corpus image decodes, in both translation units alike", "[image][decode]") {
  if (!mmm::has_image_decoder) FAIL("this build has no stb_image: install libstb-dev");
  for (const char* name : corpus_files) {
    INFO(name);
    const Bytes b = corpus(name);
    const mmm::Image a = mmm::decode_image(b, {}, name);
    CHECK(a.channels() == 3);
    CHECK(a.height() > 0);
    CHECK(decode_in_second_tu(b) == a);
    const mmm::ImageInfo info = mmm::image_info(b, name);
    CHECK(info.height == a.height());
    CHECK(info.width == a.width());
    // Decoding into the same Image again reuses it.
    mmm::Image reused;
    mmm::decode_image(b, reused, {.channels = 4});
    CHECK(reused.channels() == 4);
    mmm::decode_image(b, reused, {.channels = 1});
    CHECK(reused.channels() == 1);
  }
}

TEST_CASE("truncated images are errors, never crashes", "[image][decode][errors]") {
  for (const char* name : corpus_files) {
    const Bytes full = corpus(name);
    for (std::size_t keep : {std::size_t{0}, std::size_t{1}, std::size_t{4}, std::size_t{12}, full.size() / 4,
                             full.size() / 2, full.size() - 20, full.size() - 12}) {
      if (keep >= full.size()) continue;
      INFO(name << " cut to " << keep << " of " << full.size() << " bytes");
      const Bytes cut(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(keep));
      // GIF: stb decodes the rows it has (PIL too, with LOAD_TRUNCATED_IMAGES); only require no crash.
      if (std::string(name) == "small.gif" && keep > 20) {
        try {
          mmm::decode_image(cut, {}, name);
        } catch (const mmm::Error&) {
        }
        continue;
      }
      CHECK_THROWS_AS(mmm::decode_image(cut, {}, name), mmm::FormatError);
    }
  }
}

TEST_CASE("error messages name the source and stb's reason", "[image][decode][errors]") {
  const Bytes junk = {'n', 'o', 't', ' ', 'a', 'n', ' ', 'i', 'm', 'a', 'g', 'e'};
  CHECK_THROWS_WITH(mmm::decode_image(junk, {}, "photo.png"), Catch::Contains("photo.png") && Catch::Contains("unknown image type"));
  CHECK_THROWS_AS(mmm::decode_image(Bytes{}, {}, "empty.jpg"), mmm::FormatError);
  CHECK_THROWS_WITH(mmm::read_image("/nonexistent/dir/cat.jpg"), Catch::Contains("/nonexistent/dir/cat.jpg"));
  CHECK_THROWS_AS(mmm::read_image("/nonexistent/dir/cat.jpg"), mmm::IoError);
  CHECK(failure_in_second_tu(junk).find("unknown image type") != std::string::npos);
  // A progressive JPEG whose AC scans use Huffman tables it never defines (stb would read
  // uninitialised tables; libjpeg substitutes the standard ones).
  if (!mmm::has_libjpeg)
    CHECK_THROWS_WITH(mmm::decode_image(corpus("regress-undefined-huffman-table.jpg"), {}, "t.jpg"),
                      Catch::Contains("t.jpg") && Catch::Contains("not defined"));
  // A corrupt PNG chunk stream.
  Bytes png = corpus("rgb.png");
  for (std::size_t i = 37; i < png.size(); ++i) png[i] ^= 0x5A;
  CHECK_THROWS_AS(mmm::decode_image(png, {}, "scrambled.png"), mmm::FormatError);
  CHECK_THROWS_AS(mmm::decode_image(corpus("rgb.png"), {.channels = 2}), mmm::RangeError);
  CHECK_THROWS_AS(mmm::decode_image(corpus("rgb.png"), {.max_pixels = 0}), mmm::RangeError);
}

TEST_CASE("zero-sized and huge headers are refused before decoding", "[image][decode][errors]") {
  // PNG: IHDR width/height at bytes 16 and 20 (stb does not check the CRC).
  Bytes png = corpus("rgb.png");
  put_be32(png, 16, 0);
  CHECK_THROWS_AS(mmm::decode_image(png, {}, "zero.png"), mmm::FormatError);
  png = corpus("rgb.png");
  put_be32(png, 16, 100000), put_be32(png, 20, 100000);
  CHECK_THROWS_WITH(mmm::decode_image(png, {}, "bomb.png"), Catch::Contains("bomb.png") && Catch::Contains("max_pixels"));
  CHECK_THROWS_AS(mmm::decode_image(png, {}, "bomb.png"), mmm::RangeError);
  // JPEG: SOF height/width as 16-bit big-endian.
  Bytes jpg = corpus("baseline.jpg");
  std::size_t at = jpeg_sof_dims(jpg);
  jpg[at] = jpg[at + 2] = 0xEA, jpg[at + 1] = jpg[at + 3] = 0x60;  // 60000×60000
  CHECK_THROWS_AS(mmm::decode_image(jpg, {}, "bomb.jpg"), mmm::RangeError);
  CHECK_NOTHROW(mmm::image_info(jpg, "bomb.jpg"));  // the header alone is readable
  jpg[at + 2] = jpg[at + 3] = 0;
  CHECK_THROWS_AS(mmm::decode_image(jpg, {}, "zero.jpg"), mmm::Error);
  // A 1×1 PNG whose pixel stream inflates to 8 MiB: stb's allocation budget stops it.
  CHECK_THROWS_WITH(mmm::decode_image(corpus("bomb-1x1-inflates-8mb.png"), {}, "zip-bomb.png"),
                    Catch::Contains("zip-bomb.png") && Catch::Contains("outofmem"));
  // A small limit refuses a small image.
  CHECK_THROWS_AS(mmm::decode_image(corpus("s444.jpg"), {.max_pixels = 100}), mmm::RangeError);
  CHECK_NOTHROW(mmm::decode_image(corpus("s444.jpg"), {.max_pixels = 16 * 17}));
  // BMP: width/height at 18 and 22.
  Bytes bmp = corpus("rgb.bmp");
  put_le32(bmp, 18, 0);
  CHECK_THROWS_AS(mmm::decode_image(bmp, {}, "zero.bmp"), mmm::Error);
  bmp = corpus("rgb.bmp");
  put_le32(bmp, 18, 30000), put_le32(bmp, 22, 30000);
  CHECK_THROWS_AS(mmm::decode_image(bmp, {}, "bomb.bmp"), mmm::RangeError);
  put_le32(bmp, 18, 3000), put_le32(bmp, 22, 3000);  // allowed size, but the pixels are not there
  CHECK_THROWS_WITH(mmm::decode_image(bmp, {}, "short.bmp"), Catch::Contains("truncated BMP"));
}

TEST_CASE("an empty IDAT chunk before the pixel data changes nothing", "[image][decode]") {
  const Bytes png = corpus("rgb.png");
  // Chunks start after the 8-byte signature and the 25-byte IHDR chunk.
  Bytes with_empty(png.begin(), png.begin() + 33);
  const std::uint8_t empty_idat[] = {0, 0, 0, 0, 'I', 'D', 'A', 'T', 0x35, 0xAF, 0x06, 0x1E};
  with_empty.insert(with_empty.end(), std::begin(empty_idat), std::end(empty_idat));
  with_empty.insert(with_empty.end(), png.begin() + 33, png.end());
  CHECK(mmm::decode_image(with_empty) == mmm::decode_image(png));
}

TEST_CASE("raw pixel buffers are validated", "[image][raw]") {
  const std::vector<std::uint8_t> px = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  const mmm::Image a = mmm::Image::from_pixels(px, 2, 2, 3);
  CHECK(a.at(1, 1, 2) == 12);
  CHECK_THROWS_AS(mmm::Image::from_pixels(px, 3, 2, 3), mmm::ShapeError);
  CHECK_THROWS_AS(mmm::Image::from_pixels(px, 2, 2, 5), mmm::ShapeError);
  CHECK_THROWS_AS(mmm::Image::from_pixels(px, -1, 2, 3), mmm::ShapeError);
  CHECK_THROWS_AS(mmm::Image::from_pixels(nullptr, 0, 2, 2, 3), mmm::ShapeError);
  // Strided rows: 1×2 RGB pixels per row with 2 bytes of padding.
  const mmm::Image s = mmm::Image::from_pixels(px.data(), px.size(), 1, 1, 3, 8);
  CHECK(s.at(0, 0, 0) == 1);
  CHECK_THROWS_AS(mmm::Image::from_pixels(px.data(), px.size(), 2, 2, 3, 4), mmm::ShapeError);
  const mmm::Image two = mmm::Image::from_pixels(px.data(), px.size(), 2, 1, 3, 6);
  CHECK(two.at(1, 0, 0) == 7);
  // to_rgb: gray repeated, alpha dropped.
  const mmm::Image gray = mmm::Image::from_pixels(std::span(px).first(4), 2, 2, 1);
  const mmm::Image rgb = mmm::to_rgb(gray);
  CHECK(rgb.at(1, 0, 0) == 3);
  CHECK(rgb.at(1, 0, 2) == 3);
  const mmm::Image rgba = mmm::Image::from_pixels(std::span(px).first(8), 1, 2, 4);
  const mmm::Image rgb2 = mmm::to_rgb(rgba);
  CHECK(rgb2.at(0, 1, 0) == 5);
  CHECK(rgb2.at(0, 1, 2) == 7);
}

TEST_CASE("bad transform arguments are errors", "[image][errors]") {
  const mmm::Image img(5, 7, 3);
  CHECK_THROWS_AS(mmm::resize(img, {0, 3}), mmm::RangeError);
  CHECK_THROWS_AS(mmm::resize(mmm::Image(0, 3, 3), {2, 3}), mmm::ShapeError);
  CHECK_THROWS_AS(mmm::Resizer(mmm::Interpolation::nearest, true), mmm::RangeError);
  CHECK_THROWS_AS(mmm::resize_shorter_side(5, 7, 10, 8), mmm::RangeError);
  mmm::Resizer r;
  CHECK_THROWS_AS(r.run(img, {4, 4}, {1, 1, 4, 4}, [](Index, const float*) {}), mmm::RangeError);
  CHECK_THROWS_AS(mmm::pad(img, {0, 5, 0, 0}, mmm::ImagePadMode::reflect), mmm::RangeError);
  CHECK_THROWS_AS(mmm::pad(img, {0, 0, 7, 0}, mmm::ImagePadMode::reflect), mmm::RangeError);
  CHECK_NOTHROW(mmm::pad(img, {6, 4, 0, 0}, mmm::ImagePadMode::reflect));
  CHECK_THROWS_AS(mmm::pad(img, {0, 6, 0, 0}, mmm::ImagePadMode::symmetric), mmm::RangeError);
  CHECK_THROWS_AS(mmm::pad(img, {-1, 0, 0, 0}), mmm::RangeError);
  CHECK_THROWS_AS(mmm::center_crop(img, 0, 3), mmm::RangeError);
  const std::vector<float> mean = {0.5f, 0.5f}, std = {0.2f, 0.2f};
  CHECK_THROWS_AS(mmm::normalize(img, mean, std), mmm::ShapeError);
  const std::vector<float> m3 = {0.5f, 0.5f, 0.5f}, zero = {0.2f, 0.0f, 0.2f};
  CHECK_THROWS_AS(mmm::normalize(img, m3, zero), mmm::RangeError);
  mmm::ImagePreprocessor pre;
  mmm::Tensor wrong(mmm::Shape{2, 3, 224, 223});
  CHECK_THROWS_AS(pre(img, wrong, 0), mmm::ShapeError);
  mmm::Tensor batch(pre.output_shape(2));
  CHECK_THROWS_AS(pre(img, batch, 2), mmm::RangeError);
}

TEST_CASE("the center-crop offset rounds as Python's round", "[image][crop]") {
  // torchvision: int(round((size - crop) / 2.0)), ties to even.
  CHECK(mmm::center_crop_offset(10, 9) == 0);   // 0.5 -> 0
  CHECK(mmm::center_crop_offset(10, 7) == 2);   // 1.5 -> 2
  CHECK(mmm::center_crop_offset(10, 5) == 2);   // 2.5 -> 2
  CHECK(mmm::center_crop_offset(10, 3) == 4);   // 3.5 -> 4
  CHECK(mmm::center_crop_offset(10, 4) == 3);
  CHECK(mmm::center_crop_offset(3, 8) == -2);   // pad (8-3)//2 = 2 before
}
