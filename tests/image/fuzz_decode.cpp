// libFuzzer target for the image decoder entry point: any bytes either decode to a
// consistent Image or raise an mmm::Error. A small pixel limit keeps each input cheap.
#include <cstddef>
#include <cstdint>
#include <span>

#include "mmm/preprocess/image/decode.hpp"
#include "mmm/preprocess/image/resize.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> bytes(data, size);
  for (int channels : {0, 3}) {
    try {
      const mmm::Image img = mmm::decode_image(bytes, {.channels = channels, .max_pixels = 1 << 20}, "fuzz input");
      if (img.height() <= 0 || img.width() <= 0 || img.channels() < 1 || img.channels() > 4) __builtin_trap();
      // Touch every byte so that ASan sees a short buffer.
      unsigned sum = 0;
      for (std::uint8_t v : img.span()) sum += v;
      if (img.bytes() < 4096) {
        const mmm::Image small = mmm::resize(img, {7, 5});
        sum += small.data()[0];
      }
      (void)sum;
    } catch (const mmm::Error&) {
    }
  }
  return 0;
}
