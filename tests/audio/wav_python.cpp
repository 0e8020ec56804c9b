// WAV files written by Python (wave module and hand-packed headers: PCM 8/16/24/32, IEEE
// float 32/64, 1-3 channels, WAVE_FORMAT_EXTENSIBLE, extra odd-sized chunks) read by
// mmm::read_wav and compared with torchaudio.load's samples. Bound: 1e-6 absolute (both
// decode the same integers; float64 files round to float32 the same way).
#include "audio_checks.hpp"
#include "mmm/preprocess/audio/wav.hpp"

TEST_CASE("read_wav decodes Python-written files like torchaudio.load", "[audio][wav][parity]") {
  int cases = 0;
  for (int i = 0; std::filesystem::exists(mmm::test::oracle_dir() / ("case" + std::to_string(i) + ".safetensors"));
       ++i, ++cases) {
    mmm::test::OracleCase c("case" + std::to_string(i));
    const std::filesystem::path file = mmm::test::oracle_dir() / c.meta("file");
    const mmm::Audio audio = mmm::read_wav(file);
    INFO(file.string() << " (" << c.meta("encoding") << (c.meta("extensible") == "1" ? ", extensible" : "") << ", "
                       << c.meta("layout") << ")");
    REQUIRE(audio.sample_rate == std::stoi(c.meta("rate")));
    mmm::test::require_abs_close(audio.samples, c.output("samples"), 1e-6, "samples of " + c.meta("file"));
  }
  REQUIRE(cases >= 18);
}
