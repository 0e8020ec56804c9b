// torchaudio.functional.resample parity. Bound: max |error| <= 2e-6 of the input's peak
// (the kernels follow torchaudio's float32 steps; observed ~2e-7 of the peak, float32
// rounding of cos/sin and of the dot-product order).
#include <filesystem>
#include <string>

#include "audio_checks.hpp"
#include "mmm/preprocess/audio/resample.hpp"

TEST_CASE("resample matches torchaudio.functional.resample", "[audio][resample][parity]") {
  int cases = 0;
  for (int i = 0; std::filesystem::exists(mmm::test::oracle_dir() / ("case" + std::to_string(i) + ".safetensors"));
       ++i, ++cases) {
    mmm::test::OracleCase c("case" + std::to_string(i));
    mmm::ResampleOptions o;
    o.lowpass_filter_width = std::stoi(c.meta("width"));
    o.rolloff = std::stod(c.meta("rolloff"));
    o.method = c.meta("method") == "kaiser_window" ? mmm::ResamplingMethod::kaiser_window
                                                   : mmm::ResamplingMethod::sinc_interp_hann;
    if (!c.meta("beta").empty()) o.beta = std::stod(c.meta("beta"));
    mmm::Audio in{c.input("x"), std::stoi(c.meta("orig"))};
    const int new_rate = std::stoi(c.meta("new"));
    const mmm::Audio out = mmm::resample(in, new_rate, o);
    REQUIRE(out.sample_rate == new_rate);
    double peak = 0;
    for (float v : in.samples.span()) peak = std::max(peak, double(std::fabs(v)));
    mmm::test::require_abs_close(out.samples, c.output("y"), 2e-6 * peak,
                                 "resample case" + std::to_string(i) + " " + c.meta("orig") + " -> " + c.meta("new"));
  }
  REQUIRE(cases >= 10);
}

TEST_CASE("Resampler checks its options", "[audio][resample]") {
  REQUIRE_THROWS_AS(mmm::Resampler(0, 16000), mmm::RangeError);
  REQUIRE_THROWS_AS(mmm::Resampler(16000, -1), mmm::RangeError);
  REQUIRE_THROWS_AS(mmm::Resampler(16000, 8000, {.lowpass_filter_width = 0}), mmm::RangeError);
  REQUIRE_THROWS_AS(mmm::Resampler(16000, 8000, {.rolloff = 1.5}), mmm::RangeError);
  // Coprime rates near 1e6 would need a filter bank of ~1e12 taps.
  REQUIRE_THROWS_AS(mmm::Resampler(999983, 1000003), mmm::RangeError);
  REQUIRE_THROWS_WITH(mmm::Resampler(44100, 44101), Catch::Matchers::Contains("round the rates"));
  REQUIRE_NOTHROW(mmm::Resampler(22050, 16000, {.method = mmm::ResamplingMethod::sinc_interp_kaiser}));
  const mmm::Resampler r(44100, 16000);
  REQUIRE(r.output_length(44100) == 16000);
  REQUIRE(r.output_length(1) == 1);
  REQUIRE(r.output_length(0) == 0);
}
