// A second translation unit that includes the decoder: stb_image's implementation is compiled
// into both, with internal linkage, and the test links them into one program.
#include "mmm/preprocess/image/decode.hpp"

#include <type_traits>

// A user including stb's own header after ours gets its usual global declarations.
#if defined(MMM_HAS_STB)
#include <stb_image.h>
static_assert(std::is_function_v<decltype(stbi_info_from_memory)>);
#endif

mmm::Image decode_in_second_tu(std::span<const std::uint8_t> bytes) { return mmm::decode_image(bytes); }

std::string failure_in_second_tu(std::span<const std::uint8_t> bytes) {
  try {
    mmm::decode_image(bytes);
  } catch (const mmm::FormatError& e) {
    return e.what();
  }
  return {};
}
