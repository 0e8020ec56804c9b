// torch.stft parity: complex spectra, magnitudes and power spectra over several n_fft
// (power of two, 400, odd, prime, 1), hops, windows, centre/pad modes, normalization and
// two-sided output. Bounds: magnitudes and power spectra 1e-4 relative, or 2e-6 of the
// peak absolute for elements near zero; complex parts 2e-6 of the peak |X| absolute, since
// a value near zero has no relative precision (two float32 FFTs, kissfft and pocketfft,
// differ by ~1e-5 absolute on |X| ~ 60).
#include <complex>
#include <filesystem>
#include <vector>

#include "mmm/preprocess/audio/stft.hpp"
#include "audio_checks.hpp"

namespace {

mmm::StftOptions options_from(const mmm::test::OracleCase& c) {
  mmm::StftOptions o;
  o.n_fft = std::stoi(c.meta("n_fft"));
  o.win_length = std::stoi(c.meta("win_length"));
  o.hop_length = std::stoi(c.meta("hop"));
  o.window = c.meta("window") == "hann" ? mmm::WindowKind::hann : mmm::WindowKind::hamming;
  o.center = c.meta("center") == "1";
  const std::string pad = c.meta("pad_mode");
  o.pad_mode = pad == "reflect" ? mmm::StftPadMode::reflect : pad == "constant" ? mmm::StftPadMode::constant : mmm::StftPadMode::replicate;
  const std::string norm = c.meta("normalized");
  if (norm == "window") o.pad = 13;  // that case comes from torchaudio's spectrogram(pad=13)
  o.normalized = norm == "1"        ? mmm::StftNormalization::frame_length
                 : norm == "window" ? mmm::StftNormalization::window
                                    : mmm::StftNormalization::none;
  o.onesided = c.meta("onesided") == "1";
  return o;
}

}  // namespace

TEST_CASE("Stft matches torch.stft", "[audio][stft][parity]") {
  int cases = 0;
  for (int i = 0; std::filesystem::exists(mmm::test::oracle_dir() / ("case" + std::to_string(i) + ".safetensors")); ++i) {
    mmm::test::OracleCase c("case" + std::to_string(i));
    const mmm::StftOptions opts = options_from(c);
    const std::string what = "stft case" + std::to_string(i) + " n_fft " + std::to_string(opts.n_fft);
    const mmm::Tensor x = c.input("x");
    const std::span<const float> signal = x.span();

    mmm::Stft stft(opts);
    const mmm::Tensor want_complex = c.output("complex");
    const mmm::index bins = stft.bins(), frames = stft.frames(x.numel());
    REQUIRE(want_complex.shape() == mmm::Shape{bins, frames, 2});

    std::vector<std::complex<float>> spec(static_cast<std::size_t>(bins * frames));
    stft.compute_complex(signal, spec.data(), frames, 1);
    mmm::Tensor got_complex(mmm::Shape{bins, frames, 2});
    for (mmm::index k = 0; k < bins * frames; ++k) {
      got_complex[2 * k] = spec[static_cast<std::size_t>(k)].real();
      got_complex[2 * k + 1] = spec[static_cast<std::size_t>(k)].imag();
    }
    mmm::test::require_peak_close(got_complex, want_complex, 2e-6, what + " complex");

    mmm::StftOptions mag = opts;
    mag.power = 1.0f;
    mmm::test::require_close_or_peak(mmm::Stft(mag)(signal), c.output("magnitude"), 1e-4, 2e-6, what + " magnitude");
    mmm::test::require_close_or_peak(stft(signal), c.output("power"), 1e-4, 2e-6, what + " power");

    // Time-major strides give the transpose of the same numbers.
    mmm::Tensor tm(mmm::Shape{frames, bins});
    stft.compute(signal, tm.data(), 1, bins);
    const mmm::Tensor fm = stft(signal);
    for (mmm::index k = 0; k < bins; ++k)
      for (mmm::index t = 0; t < frames; ++t) REQUIRE(tm[t * bins + k] == fm[k * frames + t]);
    ++cases;
  }
  REQUIRE(cases >= 13);
}

TEST_CASE("Stft rejects bad options and short signals", "[audio][stft]") {
  REQUIRE_THROWS_AS(mmm::Stft({.n_fft = 0}), mmm::RangeError);
  REQUIRE_THROWS_AS(mmm::Stft({.n_fft = 64, .win_length = 65}), mmm::RangeError);
  REQUIRE_THROWS_AS(mmm::Stft({.n_fft = 64, .power = -1.0f}), mmm::RangeError);
  REQUIRE_THROWS_AS(mmm::Stft({.n_fft = 64, .pad = -1}), mmm::RangeError);
  REQUIRE_THROWS_AS(mmm::Stft({.n_fft = (1 << 20) + 1}), mmm::RangeError);
  mmm::Stft reflect({.n_fft = 64, .hop_length = 16});
  std::vector<float> short_signal(32, 0.5f);
  REQUIRE_THROWS_AS(reflect(short_signal), mmm::RangeError);  // reflect pad 32 needs > 32 samples
  mmm::Stft no_center({.n_fft = 64, .hop_length = 16, .center = false});
  REQUIRE_THROWS_AS(no_center(short_signal), mmm::RangeError);
  short_signal.resize(64);
  REQUIRE(no_center.frames(64) == 1);
  REQUIRE_THROWS_AS(no_center.compute_block(short_signal, 1), mmm::RangeError);
  REQUIRE_THROWS_AS(no_center.compute_block(short_signal, -1), mmm::RangeError);
  REQUIRE(no_center.compute_block(short_signal, 0) != nullptr);
}

TEST_CASE("make_window matches the periodic formulas", "[audio][stft]") {
  const std::vector<float> hann = mmm::make_window(mmm::WindowKind::hann, 8);
  REQUIRE(hann[0] == 0.0f);
  REQUIRE(hann[4] == Approx(1.0f));
  REQUIRE(hann[2] == Approx(0.5f));
  const std::vector<float> sym = mmm::make_window(mmm::WindowKind::hann, 9, false);
  REQUIRE(sym[8] == Approx(0.0f).margin(1e-7));
  REQUIRE(sym[4] == Approx(1.0f));
}
