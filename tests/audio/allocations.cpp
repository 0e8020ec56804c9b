// Planned transforms allocate nothing per call: every operator new in this program is
// counted, and repeated calls into caller buffers after the first must not add to it.
#include <catch2/catch.hpp>

#include <atomic>
#include <complex>
#include <cstdlib>
#include <new>
#include <random>
#include <vector>

#include "mmm/preprocess/audio.hpp"

#include "support/allocation_counter.hpp"

namespace {
std::vector<float> noise(mmm::index n) {
  std::mt19937 gen(5);
  std::normal_distribution<float> d(0.0f, 0.3f);
  std::vector<float> x(static_cast<std::size_t>(n));
  for (float& v : x) v = d(gen);
  return x;
}

template <class F>
long allocations_in_repeated_calls(F&& call) {
  call();  // first call may size internal buffers
  const long before = mmm::test::allocations();
  for (int i = 0; i < 5; ++i) call();
  return mmm::test::allocations() - before;
}
}  // namespace

TEST_CASE("Planned audio transforms do not allocate per call", "[audio][allocations]") {
  const std::vector<float> x = noise(16000 + 123);
  // The counter sees allocations: the convenience overloads return new tensors.
  mmm::Stft counted_stft({.n_fft = 400, .hop_length = 160});
  const long fresh_tensors = allocations_in_repeated_calls([&] { (void)counted_stft(x); });
  REQUIRE(fresh_tensors >= 5);

  for (mmm::index n_fft : {400, 511, 512, 257}) {
    INFO("n_fft " << n_fft);
    mmm::RealFft fft(n_fft);
    std::vector<std::complex<float>> spectrum(static_cast<std::size_t>(fft.bins()));
    REQUIRE(allocations_in_repeated_calls([&] { fft.forward(x.data(), spectrum.data()); }) == 0);

    mmm::Stft stft({.n_fft = n_fft, .hop_length = 160});
    mmm::Tensor power(mmm::Shape{stft.bins(), stft.frames(mmm::index(x.size()))});
    REQUIRE(allocations_in_repeated_calls([&] { stft.compute(x, power.data(), power.dim(1), 1); }) == 0);
  }
  // Lengths with a large prime factor run Bluestein's convolution, from plan-owned buffers too.
  for (mmm::index n_fft : {509, 2062}) {
    INFO("n_fft " << n_fft);
    mmm::RealFftBatch batch(n_fft);
    REQUIRE(batch.uses_bluestein());
    std::vector<float> lanes_in(static_cast<std::size_t>(batch.size() * mmm::RealFftBatch::lanes), 0.25f);
    std::vector<float> lanes_out(static_cast<std::size_t>(2 * batch.bins() * mmm::RealFftBatch::lanes));
    REQUIRE(allocations_in_repeated_calls([&] { batch.forward(lanes_in.data(), lanes_out.data()); }) == 0);

    mmm::Stft stft({.n_fft = n_fft, .hop_length = 160});
    mmm::Tensor power(mmm::Shape{stft.bins(), stft.frames(mmm::index(x.size()))});
    REQUIRE(allocations_in_repeated_calls([&] { stft.compute(x, power.data(), power.dim(1), 1); }) == 0);
  }
  mmm::LogMel logmel({.mel_spectrogram = {.stft = {.n_fft = 400, .hop_length = 160}, .mel = {.n_mels = 80}},
                      .log = {.kind = mmm::LogKind::decibel, .top_db = 80.0f}});
  mmm::Tensor mels(mmm::Shape{80, logmel.frames(mmm::index(x.size()))});
  REQUIRE(allocations_in_repeated_calls([&] { logmel.compute(x, mels.view()); }) == 0);
  mmm::Tensor seq(mmm::Shape{logmel.frames(mmm::index(x.size())), 80});
  REQUIRE(allocations_in_repeated_calls([&] { logmel.compute(x, seq.view(), mmm::FeatureLayout::time_major); }) == 0);

  mmm::Mfcc mfcc({.n_mfcc = 13});
  mmm::Tensor coefficients(mmm::Shape{13, mfcc.frames(mmm::index(x.size()))});
  REQUIRE(allocations_in_repeated_calls([&] { mfcc.compute(x, coefficients.view()); }) == 0);

  // Whisper: built with pad_or_trim the padded copy exists before the first call.
  mmm::WhisperLogMel whisper({.n_mels = 80, .pad_or_trim = true});
  mmm::Tensor features(mmm::Shape{3000, 80});
  const long first = mmm::test::allocations();
  whisper.compute(x, features.view(), mmm::FeatureLayout::time_major);
  REQUIRE(mmm::test::allocations() == first);
  mmm::WhisperLogMel appended({.n_mels = 128, .padding = 1600});
  mmm::Tensor appended_out(mmm::Shape{128, appended.frames(mmm::index(x.size()))});
  REQUIRE(allocations_in_repeated_calls([&] { appended.compute(x, appended_out.view()); }) == 0);

  const mmm::Resampler resampler(16000, 44100);
  std::vector<float> y(static_cast<std::size_t>(resampler.output_length(mmm::index(x.size()))));
  REQUIRE(allocations_in_repeated_calls([&] { resampler.process(x, y.data()); }) == 0);
}
