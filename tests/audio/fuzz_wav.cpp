// libFuzzer target for the WAV reader: any bytes either decode or raise mmm::Error, never
// crash. What decodes must survive a float32 re-encode and decode unchanged.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "mmm/preprocess/audio/wav.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  mmm::Audio audio;
  try {
    audio = mmm::read_wav(std::span<const std::uint8_t>(data, size), "fuzz input");
  } catch (const mmm::Error&) {
    return 0;
  }
  if (audio.channels() < 1 || audio.sample_rate < 1) std::abort();
  const auto bytes = mmm::encode_wav(audio, {.encoding = mmm::WavEncoding::float32});
  const mmm::Audio again = mmm::read_wav(bytes, "re-encoded fuzz input");
  if (!(again.samples.shape() == audio.samples.shape())) std::abort();
  for (mmm::index i = 0; i < audio.samples.numel(); ++i) {
    const float a = audio.samples[i], b = again.samples[i];
    if (!(a == b) && !(a != a && b != b)) std::abort();  // equal, or both NaN
  }
  return 0;
}
