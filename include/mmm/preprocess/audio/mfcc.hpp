#pragma once
// Mel-frequency cepstral coefficients with torchaudio.transforms.MFCC semantics: a
// MelSpectrogram, then log(x + 1e-6) (log_mels) or AmplitudeToDB("power", top_db = 80),
// then a DCT-II with orthonormal scaling over the mel axis, keeping n_mfcc coefficients.
// Output [n_mfcc, frames] (or time-major).
//
// The dB clamp needs the maximum over the whole spectrogram, so the log-mels of a call are
// kept in a buffer owned by the object; it grows to the longest input seen and is reused
// (so one Mfcc per thread).

#include <cmath>
#include <numbers>
#include <span>
#include <string>
#include <vector>

#include "mmm/preprocess/audio/mel.hpp"

namespace mmm {

struct MfccOptions {
  index n_mfcc = 40;
  bool log_mels = false;
  float top_db = 80.0f;  // used when log_mels is false; 0: no clamp
  MelSpectrogramOptions mel_spectrogram{};
};

// torchaudio.functional.create_dct(n_mfcc, n_mels, "ortho") transposed: [n_mfcc, n_mels].
inline Tensor dct_ortho_matrix(index n_mfcc, index n_mels) {
  if (n_mfcc < 1 || n_mels < 1 || n_mfcc > n_mels)
    throw RangeError("dct_ortho_matrix: need 1 <= n_mfcc <= n_mels, got n_mfcc " + std::to_string(n_mfcc) +
                     ", n_mels " + std::to_string(n_mels));
  Tensor d(Shape{n_mfcc, n_mels});
  const double s = std::sqrt(2.0 / double(n_mels));
  for (index k = 0; k < n_mfcc; ++k)
    for (index n = 0; n < n_mels; ++n) {
      double v = std::cos(std::numbers::pi / double(n_mels) * (double(n) + 0.5) * double(k)) * s;
      if (k == 0) v *= 1.0 / std::sqrt(2.0);
      d[k * n_mels + n] = float(v);
    }
  return d;
}

class Mfcc : public FeatureTransform<Mfcc> {
 public:
  static constexpr const char* name = "Mfcc";
  using FeatureTransform::compute;

  explicit Mfcc(MfccOptions options)
      : o_(options), mel_(options.mel_spectrogram), dct_(dct_ortho_matrix(options.n_mfcc, mel_.n_mels())) {
    log_.kind = o_.log_mels ? LogKind::natural : LogKind::decibel;
    log_.offset = 1e-6f;
    log_.top_db = o_.top_db;
  }

  index n_mfcc() const noexcept { return o_.n_mfcc; }
  index features() const noexcept { return n_mfcc(); }
  index frames(index length) const { return mel_.frames(length); }
  void check_rate(int rate) const { mel_.check_rate(rate); }

  // Coefficients into out[k * coefficient_stride + t * frame_stride].
  void compute(std::span<const float> signal, float* out, index coefficient_stride, index frame_stride) {
    const index n_frames = frames(index(signal.size()));
    const index n_mels = mel_.n_mels(), n_mfcc = o_.n_mfcc;
    const bool direct = coefficient_stride == n_frames && frame_stride == 1;  // feature-major
    const index need = n_frames * (n_mels + (direct ? 0 : n_mfcc));
    if (index(scratch_.size()) < need) scratch_.resize(std::size_t(need));
    // Feature-major log-mels [n_mels, frames], so that the DCT's inner loop runs along time
    // over contiguous memory and vectorizes.
    float* mels = scratch_.data();
    mel_.compute(signal, mels, n_frames, 1);
    detail::apply_log(mels, n_mels, n_frames, n_frames, 1, log_);
    float* y = direct ? out : scratch_.data() + n_frames * n_mels;
    std::fill_n(y, n_mfcc * n_frames, 0.0f);
    for (index k = 0; k < n_mfcc; ++k) {
      float* yk = y + k * n_frames;
      for (index n = 0; n < n_mels; ++n) {
        const float d = dct_[k * n_mels + n];
        const float* xn = mels + n * n_frames;
        for (index t = 0; t < n_frames; ++t) yk[t] += d * xn[t];
      }
    }
    if (!direct)
      for (index k = 0; k < n_mfcc; ++k)
        for (index t = 0; t < n_frames; ++t) out[k * coefficient_stride + t * frame_stride] = y[k * n_frames + t];
  }

 private:
  MfccOptions o_;
  MelSpectrogram mel_;
  Tensor dct_;
  LogOptions log_;
  std::vector<float> scratch_;  // log-mels, then (time-major output) the product
};

}  // namespace mmm
