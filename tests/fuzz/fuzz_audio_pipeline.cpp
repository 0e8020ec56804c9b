// libFuzzer target: the audio pipeline from a file to features — a WAV file (after a byte
// that counts the option bytes, and those), downmix, resample to another rate, then an
// STFT, a mel spectrogram, log-mels and MFCCs with the options a caller passes (sizes
// small or impossible, numbers including NaN and infinities). Each step either works or throws mmm::Error; a plan
// called twice on the same signal gives the same features (it keeps no state between
// calls); decibel features of audio of moderate values are never -inf or NaN (the floor).
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "fuzz_input.hpp"
#include "mmm/preprocess/audio.hpp"

namespace {
using namespace mmm;

template <class F>
void expect_error_or(F&& f) {
  try {
    f();
  } catch (const mmm::Error&) {
  }
}

bool same(const Tensor& a, const Tensor& b) {
  if (!(a.shape() == b.shape())) return false;
  for (Index i = 0; i < a.numel(); ++i)
    if (!(a[i] == b[i]) && !(a[i] != a[i] && b[i] != b[i])) return false;
  return true;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // The first byte says how many option bytes follow; the WAV file is the rest.
  if (size == 0) return 0;
  const std::size_t options = std::min<std::size_t>(data[0], size - 1);
  const std::span<const std::uint8_t> wav(data + 1 + options, size - 1 - options);
  fuzz::Input in(data + 1, options);
  StftOptions stft;
  stft.n_fft = in.bits(8) < 230 ? in.in_range(1, 520) : in.impossible_size();
  stft.win_length = in.flag() ? 0 : in.size(520);
  stft.hop_length = in.flag() ? 0 : in.size(300);
  stft.pad = in.bits(8) < 200 ? 0 : in.size(40);
  stft.window = in.pick({WindowKind::hann, WindowKind::hamming, WindowKind::blackman, WindowKind::rectangular});
  stft.periodic_window = in.flag();
  stft.center = in.flag();
  stft.pad_mode = in.pick({StftPadMode::reflect, StftPadMode::constant, StftPadMode::replicate});
  stft.normalized = in.pick({StftNormalization::none, StftNormalization::frame_length, StftNormalization::window});
  stft.power = in.bits(8) < 200 ? in.pick({1.0f, 2.0f}) : in.number();
  MelOptions mel;
  mel.n_mels = in.bits(8) < 230 ? in.in_range(1, 80) : in.impossible_size();
  mel.f_min = in.bits(8) < 200 ? 0.0 : double(in.number());
  mel.f_max = in.bits(8) < 200 ? 0.0 : double(in.number());
  mel.norm = in.pick({MelNorm::none, MelNorm::slaney});
  mel.scale = in.pick({MelScale::htk, MelScale::slaney});
  LogOptions log;
  log.kind = in.pick({LogKind::natural, LogKind::decibel});
  if (in.bits(8) >= 200) log.offset = in.number();
  if (in.bits(8) >= 200) log.multiplier = in.number();
  if (in.bits(8) >= 200) log.amin = in.number();
  if (in.bits(8) >= 200) log.ref = in.number();
  log.top_db = in.bits(8) < 128 ? 80.0f : in.bits(8) < 200 ? 0.0f : in.number();
  const Index n_mfcc = in.bits(8) < 230 ? in.in_range(1, 40) : in.impossible_size();
  const int rate = static_cast<int>(in.pick<std::int64_t>({8000, 16000, 22050, 44100, 1, 7, 0, -16000}));
  const bool time_major = in.flag();

  Audio audio;
  try {
    audio = downmix(read_wav(wav, "fuzz.wav"));
  } catch (const mmm::Error&) {
    return 0;
  }
  expect_error_or([&] {
    // Resampling to a far higher rate is legitimately large: keep the output small.
    const Resampler r(audio.sample_rate, rate);
    if (r.output_length(audio.frames()) > (1 << 20)) return;
    audio = resample(audio, rate);
    if (audio.sample_rate != rate) __builtin_trap();
  });
  mel.sample_rate = audio.sample_rate;
  const std::span<const float> signal = audio.samples.span();
  const FeatureLayout layout = time_major ? FeatureLayout::time_major : FeatureLayout::feature_major;
  // Padding and short hops make outputs, and the work, legitimately large: keep them small.
  // (A prime n_fft near 520 costs ~n^2/4 multiply-adds a frame, 60 times slower under the
  // fuzzer's sanitizers and coverage: 7,885 such frames, six times over, took 31 s.)
  const auto small_output = [&](Index frames, Index features) {
    return frames <= (1 << 16) && frames * features <= (1 << 22) && frames * stft.n_fft <= (1 << 18);
  };
  expect_error_or([&] {
    Stft plan(stft);
    if (!small_output(plan.frames(Index(signal.size())), plan.bins())) return;
    const Tensor a = plan(signal);
    if (!same(a, plan(signal))) __builtin_trap();
  });
  expect_error_or([&] {
    LogMel logmel({.mel_spectrogram = {.stft = stft, .mel = mel}, .log = log});
    if (!small_output(logmel.frames(Index(signal.size())), logmel.n_mels())) return;
    const Tensor a = logmel(signal, layout);
    if (!same(a, logmel(signal, layout))) __builtin_trap();
    // (Samples near float's limit overflow inside the FFT: inf - inf is NaN.)
    bool moderate = true;
    for (float v : signal) moderate = moderate && std::fabs(v) <= 1e6f;
    if (log.kind == LogKind::decibel && moderate)
      for (Index i = 0; i < a.numel(); ++i)
        if (std::isnan(a[i]) || a[i] == -INFINITY) __builtin_trap();
  });
  expect_error_or([&] {
    MfccOptions o{.n_mfcc = n_mfcc, .log_mels = log.kind == LogKind::natural, .top_db = log.top_db,
                  .mel_spectrogram = {.stft = stft, .mel = mel}};
    Mfcc mfcc(o);
    if (!small_output(mfcc.frames(Index(signal.size())), mfcc.n_mfcc())) return;
    const Tensor a = mfcc(signal, layout);
    if (!same(a, mfcc(signal, layout))) __builtin_trap();
  });
  return 0;
}
