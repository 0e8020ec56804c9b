// torchaudio parity for MelFilterbank (melscale_fbanks), MelSpectrogram, LogMel and Mfcc.
// Bounds: filterbank weights 5e-5 of the largest weight absolute (torchaudio builds them in
// float32: a triangle edge near a bin moves by ~1e-5); mel energies 1e-4 relative to
// torchaudio's computation in float64, filterbank included (require_close_to_float64: mmm
// is ~1e-6 from it, torch's float32 ~1e-5, and the two were 1.35e-4 apart in one CI run);
// natural log-mels 2e-3 absolute and decibels 5e-3 dB absolute (a mel band of one or two
// FFT bins can hold 1e-2 of its neighbours' power, and the ~1e-7 of the peak |X| by which
// two float32 FFTs differ becomes ~1e-4..1e-3 in its logarithm); MFCC 1e-4 of the largest
// |coefficient| absolute (the DCT mixes dB values of ~100 into coefficients that cross
// zero). WhisperLogMel 1e-4 absolute on values of about ±2 (log10/4) against Whisper's
// formula in float64: a 128-band filterbank has bands that only graze a bin, whose float32
// weights torch rounds coarsely (torch's float32 result is up to 1.1e-4 off, mmm's 2e-5).
#include <filesystem>
#include <string>
#include <vector>

#include "audio_checks.hpp"
#include "mmm/core/kinds.hpp"
#include "mmm/preprocess/audio/mel.hpp"
#include "mmm/preprocess/audio/mfcc.hpp"
#include "mmm/preprocess/audio/whisper.hpp"

namespace {

bool exists(const std::string& name) {
  return std::filesystem::exists(mmm::test::oracle_dir() / (name + ".safetensors"));
}

mmm::MelSpectrogramOptions mel_options(const mmm::test::OracleCase& c) {
  mmm::MelSpectrogramOptions o;
  o.stft.n_fft = std::stoi(c.meta("n_fft"));
  o.stft.win_length = std::stoi(c.meta("win_length"));
  o.stft.hop_length = std::stoi(c.meta("hop"));
  o.stft.power = std::stof(c.meta("power"));
  o.stft.pad = std::stoi(c.meta("pad"));
  o.mel.sample_rate = std::stoi(c.meta("sample_rate"));
  o.mel.n_mels = std::stoi(c.meta("n_mels"));
  o.mel.f_min = std::stod(c.meta("f_min"));
  o.mel.f_max = std::stod(c.meta("f_max"));
  o.mel.norm = c.meta("norm") == "slaney" ? mmm::MelNorm::slaney : mmm::MelNorm::none;
  o.mel.scale = c.meta("mel_scale") == "slaney" ? mmm::MelScale::slaney : mmm::MelScale::htk;
  return o;
}

}  // namespace

TEST_CASE("MelSpectrogram and LogMel match torchaudio", "[audio][mel][parity]") {
  int cases = 0;
  for (int i = 0; exists("mel" + std::to_string(i)); ++i, ++cases) {
    mmm::test::OracleCase c("mel" + std::to_string(i));
    const std::string what = "mel" + std::to_string(i);
    const mmm::MelSpectrogramOptions opts = mel_options(c);
    const mmm::Tensor x = c.input("x");

    mmm::MelSpectrogram mel(opts);
    mmm::test::require_peak_close(mel.filterbank().matrix(), c.output("fbanks"), 5e-5, what + " filterbank");
    const mmm::Tensor spec = mel(x.span());
    mmm::test::require_close_to_float64(spec, c, "mel", 1e-4, what + " mel spectrogram");

    // The one-frame filterbank call gives the same mels as the blocked path (last frame).
    mmm::Stft stft(opts.stft);
    const mmm::Tensor power = stft(x.span());
    const mmm::index frames = power.dim(1), last = frames - 1;
    std::vector<float> frame(static_cast<std::size_t>(power.dim(0))), mels(static_cast<std::size_t>(mel.n_mels()));
    for (mmm::index k = 0; k < power.dim(0); ++k) frame[static_cast<std::size_t>(k)] = power[k * frames + last];
    mel.filterbank().apply(frame.data(), mels.data(), 1);
    for (mmm::index m = 0; m < mel.n_mels(); ++m)
      REQUIRE(mels[static_cast<std::size_t>(m)] == Approx(spec[m * frames + last]).epsilon(1e-5).margin(1e-6));

    mmm::LogMel natural({.mel_spectrogram = opts, .log = {.kind = mmm::LogKind::natural, .offset = 1e-6f}});
    mmm::test::require_abs_close(natural(x.span()), c.output("log"), 2e-3, what + " log(mel + 1e-6)");

    const float multiplier = opts.stft.power == 2.0f ? 10.0f : 20.0f;
    mmm::LogMel db({.mel_spectrogram = opts,
                    .log = {.kind = mmm::LogKind::decibel, .multiplier = multiplier, .top_db = 80.0f}});
    mmm::test::require_abs_close(db(x.span()), c.output("db"), 5e-3, what + " AmplitudeToDB(top_db=80)");

    // Time-major output is the transpose (up to rounding: the vectorized log runs along the
    // other axis), and time_major() gives the Seq layout.
    const mmm::Tensor tm = db(x.span(), mmm::FeatureLayout::time_major);
    const mmm::Tensor fm = db(x.span());
    const mmm::Tensor seq = mmm::time_major(fm);
    REQUIRE(seq.shape() == mmm::Shape{1, fm.dim(1), fm.dim(0)});
    for (mmm::index k = 0; k < tm.numel(); ++k) REQUIRE(tm[k] == Approx(seq[k]).epsilon(1e-6).margin(1e-5));
  }
  REQUIRE(cases >= 7);
}

TEST_CASE("WhisperLogMel is Whisper's log_mel_spectrogram", "[audio][whisper][parity]") {
  int cases = 0;
  for (int i = 0; exists("whisper" + std::to_string(i)); ++i, ++cases) {
    mmm::test::OracleCase c("whisper" + std::to_string(i));
    const std::string what = "whisper" + std::to_string(i);
    const mmm::Tensor x = c.input("x"), expected = c.output("features");  // float64, rounded
    mmm::WhisperLogMel whisper({.n_mels = std::stoi(c.meta("n_mels")), .padding = std::stoi(c.meta("padding")),
                                .pad_or_trim = c.meta("pad_or_trim") == "1"});
    const mmm::Tensor got = whisper(x.span());
    REQUIRE(got.shape() == expected.shape());
    if (whisper.options().pad_or_trim) REQUIRE(got.dim(1) == 3000);
    mmm::test::require_abs_close_to_float64(got, c, "features", 1e-4, what);
    // The same numbers time-major, and through an Audio.
    mmm::Audio audio{mmm::Tensor(mmm::Shape{1, x.numel()}), 16000};
    std::copy(x.span().begin(), x.span().end(), audio.samples.data());
    const mmm::Tensor tm = whisper(audio, mmm::FeatureLayout::time_major);
    for (mmm::index m = 0; m < got.dim(0); ++m)
      for (mmm::index t = 0; t < got.dim(1); ++t) REQUIRE(tm[t * got.dim(0) + m] == Approx(got[m * got.dim(1) + t]).margin(1e-5));
  }
  REQUIRE(cases >= 7);
  // Silence: every value is the floor, (log10(1e-10) + 4) / 4.
  mmm::WhisperLogMel whisper;
  const std::vector<float> silence(16000, 0.0f);
  const mmm::Tensor s = whisper(silence);
  REQUIRE(s.shape() == mmm::Shape{80, 100});
  for (float v : s.span()) REQUIRE(v == Approx(-1.5f).margin(1e-6));
  REQUIRE_THROWS_AS(whisper(mmm::Audio{mmm::Tensor(mmm::Shape{1, 100}), 8000}), mmm::RangeError);
  REQUIRE_THROWS_AS(mmm::WhisperLogMel({.n_mels = 0}), mmm::RangeError);
  REQUIRE(whisper(std::vector<float>(100)).dim(1) == 0);  // shorter than one hop: no frame
}

TEST_CASE("Mfcc matches torchaudio.transforms.MFCC", "[audio][mfcc][parity]") {
  int cases = 0;
  for (int i = 0; exists("mfcc" + std::to_string(i)); ++i, ++cases) {
    mmm::test::OracleCase c("mfcc" + std::to_string(i));
    mmm::MfccOptions o;
    o.n_mfcc = std::stoi(c.meta("n_mfcc"));
    o.log_mels = c.meta("log_mels") == "1";
    o.mel_spectrogram.stft.n_fft = std::stoi(c.meta("n_fft"));
    o.mel_spectrogram.stft.hop_length = std::stoi(c.meta("hop"));
    o.mel_spectrogram.mel.sample_rate = std::stoi(c.meta("sample_rate"));
    o.mel_spectrogram.mel.n_mels = std::stoi(c.meta("n_mels"));
    const mmm::Tensor x = c.input("x");
    mmm::Mfcc mfcc(o);
    const mmm::Tensor got = mfcc(x.span());
    mmm::test::require_peak_close(got, c.output("mfcc"), 1e-4, "mfcc" + std::to_string(i));
    const mmm::Tensor tm = mfcc(x.span(), mmm::FeatureLayout::time_major);
    for (mmm::index k = 0; k < got.dim(0); ++k)
      for (mmm::index t = 0; t < got.dim(1); ++t)
        REQUIRE(tm[t * got.dim(0) + k] == Approx(got[k * got.dim(1) + t]).epsilon(1e-6).margin(1e-5));
  }
  REQUIRE(cases >= 3);
}

TEST_CASE("Mel options and inputs are checked", "[audio][mel]") {
  REQUIRE_THROWS_AS(mmm::MelFilterbank(201, {.n_mels = 0}), mmm::RangeError);
  REQUIRE_THROWS_AS(mmm::MelFilterbank(201, {.sample_rate = 16000, .f_min = 9000, .f_max = 100}), mmm::RangeError);
  REQUIRE_THROWS_AS(mmm::MelSpectrogram({.stft = {.onesided = false}}), mmm::RangeError);
  REQUIRE_THROWS_AS(mmm::Mfcc({.n_mfcc = 200}), mmm::RangeError);  // more coefficients than the 128 mels

  mmm::MelSpectrogram mel({.stft = {.n_fft = 400, .hop_length = 160}, .mel = {.sample_rate = 16000, .n_mels = 80}});
  mmm::Audio stereo{mmm::Tensor(mmm::Shape{2, 4000}), 16000};
  REQUIRE_THROWS_AS(mel(stereo), mmm::ShapeError);
  mmm::Audio wrong_rate{mmm::Tensor(mmm::Shape{1, 4000}), 8000};
  REQUIRE_THROWS_AS(mel(wrong_rate), mmm::RangeError);
  mmm::Tensor out(mmm::Shape{80, 3});
  REQUIRE_THROWS_AS(mel.compute(mmm::Tensor(mmm::Shape{4000}).span(), out.view()), mmm::ShapeError);
}

TEST_CASE("Log-mels become a Seq<n_mels> model input", "[audio][mel]") {
  mmm::LogMel logmel({.mel_spectrogram = {.stft = {.n_fft = 400, .hop_length = 160}, .mel = {.n_mels = 80}}});
  mmm::Tensor x(mmm::Shape{1, 16000 + 7});
  for (mmm::index i = 0; i < x.numel(); ++i) x[i] = std::sin(0.05f * float(i));
  const mmm::Tensor features = logmel(mmm::Audio{x, 16000});  // [80, frames]
  const mmm::Tensor input = mmm::time_major(features);        // [1, frames, 80]
  const mmm::Seq<80> seq(input.view());
  REQUIRE(seq.batch == 1);
  REQUIRE(seq.length == features.dim(1));
  REQUIRE(seq.length == 1 + (16000 + 7) / 160);
  REQUIRE(seq.data[3 * 80 + 5] == features[5 * features.dim(1) + 3]);
  REQUIRE_THROWS_AS(mmm::Seq<64>(input.view()), mmm::ShapeError);
}
