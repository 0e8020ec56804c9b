#pragma once
// Whisper's input features, exactly as openai-whisper's log_mel_spectrogram computes them:
//
//   audio (16 kHz mono), then `padding` zeros appended (transcribe() appends 30 s)
//   STFT: n_fft 400, hop 160, periodic Hann window, centred with reflect padding
//   |X|^2 with the last frame dropped            → length / 160 frames
//   mel filterbank: Slaney scale and Slaney norm (librosa's, Whisper's mel_filters.npz),
//                   80 mels (tiny … large-v2) or 128 (large-v3)
//   log10(max(mel, 1e-10)), clamped from below at (its maximum) − 8, then (x + 4) / 4
//
// With pad_or_trim the audio is first cut or zero-padded to 30 s (whisper.pad_or_trim), so
// that the features are the 3000 frames the encoder takes.
//
//   mmm::WhisperLogMel features({.n_mels = 80, .pad_or_trim = true});
//   mmm::Tensor mel = features(audio);                          // [80, 3000]
//   mmm::Tensor x = features(audio, mmm::FeatureLayout::time_major);  // [3000, 80]
//
// The plan allocates its padded copy of the signal when built with pad_or_trim, else on the
// first call with a longer signal; calls of at most that length allocate nothing.

#include <algorithm>
#include <cmath>
#include <span>
#include <string>
#include <vector>

#include "mmm/core/checked.hpp"
#include "mmm/core/errors.hpp"
#include "mmm/core/tensor.hpp"
#include "mmm/kernels/math.hpp"
#include "mmm/preprocess/audio/mel.hpp"
#include "mmm/preprocess/audio/stft.hpp"

namespace mmm {

inline constexpr int whisper_sample_rate = 16000;
inline constexpr index whisper_n_fft = 400;
inline constexpr index whisper_hop_length = 160;
inline constexpr index whisper_chunk_samples = 30 * whisper_sample_rate;  // 480,000: 30 s, 3000 frames

struct WhisperOptions {
  index n_mels = 80;         // 80, or 128 for large-v3
  index padding = 0;         // zeros appended first (log_mel_spectrogram's `padding`; transcribe() uses whisper_chunk_samples)
  bool pad_or_trim = false;  // cut or zero-pad the audio to 30 s first (whisper.pad_or_trim)
};

class WhisperLogMel : public FeatureTransform<WhisperLogMel> {
 public:
  static constexpr const char* name = "WhisperLogMel";
  using FeatureTransform::compute;

  explicit WhisperLogMel(WhisperOptions options = {})
      : o_(checked(options)),
        stft_(StftOptions{.n_fft = whisper_n_fft, .hop_length = whisper_hop_length, .window = WindowKind::hann,
                          .periodic_window = true, .center = true, .pad_mode = StftPadMode::reflect, .power = 2.0f}),
        fb_(stft_.bins(), MelOptions{.sample_rate = whisper_sample_rate, .n_mels = o_.n_mels, .norm = MelNorm::slaney,
                                     .scale = MelScale::slaney}) {
    if (o_.pad_or_trim) padded_.resize(static_cast<std::size_t>(checked_add(whisper_chunk_samples, o_.padding, name)));
  }

  const WhisperOptions& options() const noexcept { return o_; }
  index n_mels() const noexcept { return o_.n_mels; }
  index features() const noexcept { return o_.n_mels; }
  // Frames for a signal of `length` samples: the padded length / 160 (the STFT's last frame dropped).
  index frames(index length) const { return padded_length(length) / whisper_hop_length; }
  void check_rate(int rate) const {
    if (rate != whisper_sample_rate)
      throw RangeError(std::string(name) + ": Whisper's features are for 16000 Hz audio, this is " + std::to_string(rate) +
                       " Hz (see resample())");
  }

  // Features into out[m * mel_stride + t * frame_stride]; one of the strides must be 1.
  void compute(std::span<const float> signal, float* out, index mel_stride, index frame_stride) {
    const std::span<const float> x = padded(signal);
    const index n_frames = x.size() / whisper_hop_length;
    if (n_frames == 0) return;
    for (index t0 = 0; t0 < n_frames; t0 += Stft::block) {
      const float* spectra = stft_.compute_block(x, t0);
      fb_.apply_block<Stft::block>(spectra, std::min(Stft::block, n_frames - t0), out + t0 * frame_stride, mel_stride,
                                   frame_stride);
    }
    // log10(max(x, 1e-10)), the maximum, then the clamp and (x + 4) / 4.
    detail::apply_log(out, o_.n_mels, n_frames, mel_stride, frame_stride,
                      LogOptions{.kind = LogKind::decibel, .multiplier = 1.0f, .amin = 1e-10f, .ref = 1.0f, .top_db = 8.0f});
    const bool fm = frame_stride == 1;
    const index rows = fm ? o_.n_mels : n_frames, cols = fm ? n_frames : o_.n_mels, stride = fm ? mel_stride : frame_stride;
    for (index r = 0; r < rows; ++r) {
      float* v = out + r * stride;
      for (index c = 0; c < cols; ++c) v[c] = (v[c] + 4.0f) * 0.25f;
    }
  }

 private:
  static WhisperOptions& checked(WhisperOptions& o) {
    if (o.n_mels < 1) throw RangeError(std::string(name) + ": n_mels must be positive (80 or 128), got " + std::to_string(o.n_mels));
    if (o.padding < 0) throw RangeError(std::string(name) + ": padding must not be negative, got " + std::to_string(o.padding));
    return o;
  }
  index padded_length(index length) const {
    return checked_add(o_.pad_or_trim ? whisper_chunk_samples : length, o_.padding, name);
  }
  // The signal as the STFT reads it: trimmed or padded to 30 s, then `padding` zeros.
  std::span<const float> padded(std::span<const float> signal) {
    const index kept = o_.pad_or_trim ? std::min(index(signal.size()), whisper_chunk_samples) : index(signal.size());
    const index total = padded_length(index(signal.size()));
    if (total == kept) return signal.first(static_cast<std::size_t>(kept));
    if (padded_.size() < static_cast<std::size_t>(total)) padded_.resize(static_cast<std::size_t>(total));
    std::copy(signal.begin(), signal.begin() + kept, padded_.begin());
    std::fill(padded_.begin() + kept, padded_.begin() + total, 0.0f);
    return std::span<const float>(padded_.data(), static_cast<std::size_t>(total));
  }

  WhisperOptions o_;
  Stft stft_;
  MelFilterbank fb_;
  std::vector<float> padded_;
};

}  // namespace mmm
