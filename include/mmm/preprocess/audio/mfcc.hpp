#pragma once
// Mel-frequency cepstral coefficients with torchaudio.transforms.MFCC semantics: a
// MelSpectrogram, then log(x + 1e-6) (log_mels) or AmplitudeToDB("power", top_db = 80),
// then a DCT-II with orthonormal scaling over the mel axis, keeping n_mfcc coefficients.
// Output [n_mfcc, frames] (or time-major).
//
// A plan: built once, then each call writes the caller's buffer and allocates nothing,
// whatever the signal's length (its scratch is one block of frames; one Mfcc per thread).

#include <cmath>
#include <numbers>
#include <span>
#include <string>
#include <vector>

#include "mmm/core/checked.hpp"

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

  explicit Mfcc(MfccOptions options) try
      : o_(options),
        mel_(options.mel_spectrogram),
        dct_(dct_ortho_matrix(options.n_mfcc, mel_.n_mels())),
        block_(allocate_aligned<float>(checked_mul(mel_.n_mels() + o_.n_mfcc, Stft::block, "Mfcc"), "Mfcc")) {
    log_.kind = o_.log_mels ? LogKind::natural : LogKind::decibel;
    log_.offset = 1e-6f;
    log_.top_db = o_.top_db;
    detail::check_log_options(log_, name);
    std::fill_n(block_.get(), (mel_.n_mels() + o_.n_mfcc) * Stft::block, 0.0f);
  } catch (...) {
    rethrow_allocation_failure("Mfcc");
  }
  Mfcc(const Mfcc& other) : Mfcc(other.o_) {}
  Mfcc& operator=(const Mfcc& other) {
    if (this != &other) *this = Mfcc(other.o_);
    return *this;
  }
  Mfcc(Mfcc&&) noexcept = default;
  Mfcc& operator=(Mfcc&&) noexcept = default;

  index n_mfcc() const noexcept { return o_.n_mfcc; }
  index features() const noexcept { return n_mfcc(); }
  index frames(index length) const { return mel_.frames(length); }
  void check_rate(int rate) const { mel_.check_rate(rate); }

  // Coefficients into out[k * coefficient_stride + t * frame_stride]; allocates nothing.
  //
  // Frames go through mels, logarithm and DCT one block at a time, so the plan's memory
  // is one block whatever the signal's length. The dB clamp (top_db) is at the maximum
  // over the whole spectrogram, which needs every frame first: a first pass finds the
  // largest mel energy (decibels grow with it), the second computes the frames again.
  void compute(std::span<const float> signal, float* out, index coefficient_stride, index frame_stride) {
    constexpr index B = Stft::block;
    const index n_frames = frames(index(signal.size()));
    const index n_mels = mel_.n_mels(), n_mfcc = o_.n_mfcc;
    float* mels = block_.get();      // [n_mels][B]
    float* y = mels + n_mels * B;    // [n_mfcc][B]
    float floor = 0;
    if (detail::clamps(log_)) {
      float most = 0;
      for (index t0 = 0; t0 < n_frames; t0 += B) {
        const index count = mel_.compute_block(signal, t0, n_frames, mels, B, 1);
        for (index m = 0; m < n_mels; ++m)
          for (index l = 0; l < count; ++l) most = std::max(most, mels[m * B + l]);
      }
      floor = detail::log_values(detail::Runs(&most, 1, 1, 1, 1), log_) - log_.top_db;
    }
    for (index t0 = 0; t0 < n_frames; t0 += B) {
      const index count = mel_.compute_block(signal, t0, n_frames, mels, B, 1);
      const detail::Runs block(mels, n_mels, count, B, 1);
      detail::log_values(block, log_);
      if (detail::clamps(log_)) detail::clamp_below(block, floor);
      for (index k = 0; k < n_mfcc; ++k) {
        float* yk = y + k * B;
        std::fill_n(yk, B, 0.0f);
        for (index n = 0; n < n_mels; ++n) {
          const float d = dct_[k * n_mels + n];
          const float* xn = mels + n * B;
          for (index l = 0; l < B; ++l) yk[l] += d * xn[l];
        }
        for (index l = 0; l < count; ++l) out[k * coefficient_stride + (t0 + l) * frame_stride] = yk[l];
      }
    }
  }

 private:
  MfccOptions o_;
  MelSpectrogram mel_;
  Tensor dct_;
  AlignedArray<float> block_;  // one block of log-mels, then of coefficients
  LogOptions log_;
};

}  // namespace mmm
