#pragma once
// Mel filterbanks, mel spectrograms and log-mel features, with torchaudio semantics:
//   MelFilterbank    torchaudio.functional.melscale_fbanks (HTK or Slaney scale, no or
//                    Slaney area norm)
//   MelSpectrogram   torchaudio.transforms.MelSpectrogram (Spectrogram, then MelScale)
//   LogMel           MelSpectrogram followed by log(x + offset) or by AmplitudeToDB
//
// Outputs are [n_mels, frames] (torchaudio's layout) by default; FeatureLayout::time_major
// writes [frames, n_mels] directly, which is what a Seq<n_mels> model input wants — see
// time_major() to turn a [n_mels, frames] tensor into a [1, frames, n_mels] one.
//
// The filterbank is stored sparsely: each triangle covers a handful of FFT bins, so
// applying it costs about 2 * n_freqs multiply-adds per frame instead of n_freqs * n_mels.

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <utility>
#include <span>
#include <string>
#include <vector>

#include "mmm/core/checked.hpp"
#include "mmm/core/errors.hpp"
#include "mmm/core/tensor.hpp"
#include "mmm/kernels/math.hpp"
#include "mmm/preprocess/audio/stft.hpp"
#include "mmm/preprocess/audio/wav.hpp"

namespace mmm {

enum class MelScale { htk, slaney };
enum class MelNorm { none, slaney };
// feature_major: [features, frames] (torchaudio); time_major: [frames, features] (Seq).
enum class FeatureLayout { feature_major, time_major };

struct MelOptions {
  int sample_rate = 16000;
  index n_mels = 128;
  double f_min = 0.0;
  double f_max = 0.0;  // 0: sample_rate / 2 (integer division, as torchaudio)
  MelNorm norm = MelNorm::none;
  MelScale scale = MelScale::htk;
};

inline double hz_to_mel(double hz, MelScale scale) {
  if (scale == MelScale::htk) return 2595.0 * std::log10(1.0 + hz / 700.0);
  constexpr double f_sp = 200.0 / 3, min_log_hz = 1000.0, min_log_mel = min_log_hz / f_sp;
  const double logstep = std::log(6.4) / 27.0;
  return hz >= min_log_hz ? min_log_mel + std::log(hz / min_log_hz) / logstep : hz / f_sp;
}

inline double mel_to_hz(double mel, MelScale scale) {
  if (scale == MelScale::htk) return 700.0 * (std::pow(10.0, mel / 2595.0) - 1.0);
  constexpr double f_sp = 200.0 / 3, min_log_hz = 1000.0, min_log_mel = min_log_hz / f_sp;
  const double logstep = std::log(6.4) / 27.0;
  return mel >= min_log_mel ? min_log_hz * std::exp(logstep * (mel - min_log_mel)) : f_sp * mel;
}

// More mel bands than any model uses, and than an FFT of the largest Stft has bins: the
// filterbank's construction is O(n_mels · n_freqs).
inline constexpr index mel_max_bands = 1 << 16;

class MelFilterbank {
 public:
  MelFilterbank(index n_freqs, MelOptions options) try : n_freqs_(n_freqs), o_(options) {
    if (n_freqs < 2) throw RangeError("MelFilterbank: n_freqs must be at least 2, got " + std::to_string(n_freqs));
    if (o_.n_mels < 1 || o_.n_mels > mel_max_bands)
      throw RangeError("MelFilterbank: n_mels must be in [1, " + std::to_string(mel_max_bands) + "], got " +
                       std::to_string(o_.n_mels));
    if (o_.sample_rate < 2) throw RangeError("MelFilterbank: sample_rate must be at least 2 Hz");
    const double nyquist = double(o_.sample_rate / 2);
    if (o_.f_max == 0.0) o_.f_max = nyquist;
    if (!(o_.f_min >= 0.0) || !(o_.f_max > o_.f_min) || !std::isfinite(o_.f_max))
      throw RangeError("MelFilterbank: need 0 <= f_min < f_max, got f_min " + std::to_string(o_.f_min) + ", f_max " +
                       std::to_string(o_.f_max));

    const index n_pts = o_.n_mels + 2;
    const double m_min = hz_to_mel(o_.f_min, o_.scale), m_max = hz_to_mel(o_.f_max, o_.scale);
    std::vector<double> f_pts(static_cast<std::size_t>(n_pts));
    for (index i = 0; i < n_pts; ++i)
      f_pts[std::size_t(i)] = mel_to_hz(m_min + (m_max - m_min) * double(i) / double(n_pts - 1), o_.scale);

    begin_.resize(std::size_t(o_.n_mels));
    count_.resize(std::size_t(o_.n_mels));
    offset_.resize(std::size_t(o_.n_mels));
    for (index m = 0; m < o_.n_mels; ++m) {
      const double lo = f_pts[std::size_t(m)], mid = f_pts[std::size_t(m + 1)], hi = f_pts[std::size_t(m + 2)];
      const double enorm = o_.norm == MelNorm::slaney ? 2.0 / (hi - lo) : 1.0;
      begin_[std::size_t(m)] = 0;
      offset_[std::size_t(m)] = index(weights_.size());
      index count = 0;
      for (index f = 0; f < n_freqs; ++f) {
        const double hz = nyquist * double(f) / double(n_freqs - 1);
        const double down = (hz - lo) / (mid - lo), up = (hi - hz) / (hi - mid);
        const double w = std::max(0.0, std::min(down, up));
        if (w <= 0.0) {
          if (count > 0) break;  // past the triangle
          continue;
        }
        if (count == 0) begin_[std::size_t(m)] = f;
        weights_.push_back(float(w * enorm));
        ++count;
      }
      count_[std::size_t(m)] = count;
    }
  } catch (...) {
    rethrow_allocation_failure([&] { return "MelFilterbank (" + std::to_string(options.n_mels) + " mels)"; });
  }

  index n_freqs() const noexcept { return n_freqs_; }
  index n_mels() const noexcept { return o_.n_mels; }
  const MelOptions& options() const noexcept { return o_; }

  // The dense matrix, [n_freqs, n_mels], as torchaudio.functional.melscale_fbanks returns it.
  Tensor matrix() const {
    Tensor fb(Shape{n_freqs_, o_.n_mels});
    for (index m = 0; m < o_.n_mels; ++m)
      for (index j = 0; j < count_[std::size_t(m)]; ++j)
        fb[(begin_[std::size_t(m)] + j) * o_.n_mels + m] = weights_[std::size_t(offset_[std::size_t(m)] + j)];
    return fb;
  }

  // For a block of frames, spectra [n_freqs][lanes]: out[m * mel_stride + l * frame_stride]
  // = sum_f spectra[f][l] * fb[f, m] for lanes l < count.
  template <index Lanes>
  void apply_block(const float* spectra, index count, float* out, index mel_stride, index frame_stride) const {
    const float* w = weights_.data();
    for (index m = 0; m < o_.n_mels; ++m) {
      float acc[Lanes] = {};
      const float* s = spectra + begin_[std::size_t(m)] * Lanes;
      const float* wm = w + offset_[std::size_t(m)];
      for (index j = 0, n = count_[std::size_t(m)]; j < n; ++j)
        for (index l = 0; l < Lanes; ++l) acc[l] += s[j * Lanes + l] * wm[j];
      float* o = out + m * mel_stride;
      for (index l = 0; l < count; ++l) o[l * frame_stride] = acc[l];
    }
  }

  // out[m * out_stride] = sum_f spectrum[f] * fb[f, m] for one frame.
  void apply(const float* spectrum, float* out, index out_stride) const {
    const float* w = weights_.data();
    for (index m = 0; m < o_.n_mels; ++m) {
      const float* s = spectrum + begin_[std::size_t(m)];
      const float* wm = w + offset_[std::size_t(m)];
      float acc = 0.0f;
      for (index j = 0, n = count_[std::size_t(m)]; j < n; ++j) acc += s[j] * wm[j];
      out[m * out_stride] = acc;
    }
  }

 private:
  index n_freqs_;
  MelOptions o_;
  std::vector<index> begin_, count_, offset_;
  std::vector<float> weights_;
};

struct MelSpectrogramOptions {
  StftOptions stft{};  // onesided must stay true
  MelOptions mel{};
};

namespace detail {
inline std::span<const float> mono_samples(const Audio& audio, const std::string& who) {
  if (audio.channels() != 1)
    throw ShapeError(who + ": needs mono audio, got " + std::to_string(audio.channels()) + " channels (see downmix())");
  return audio.samples.span();
}
}  // namespace detail

// The tensor-level calls every feature transform offers, on top of the one it implements:
//   void compute(signal, float* out, index feature_stride, index frame_stride)
// plus features(), frames(length), check_rate(rate) and a static `name`.
template <class Derived>
class FeatureTransform {
 public:
  // Into a caller tensor of shape [features, frames] or [frames, features]; allocates nothing.
  void compute(std::span<const float> signal, TensorView<float> out, FeatureLayout layout = FeatureLayout::feature_major) {
    Derived& self = static_cast<Derived&>(*this);
    const index n_frames = self.frames(index(signal.size())), n_features = self.features();
    const bool fm = layout == FeatureLayout::feature_major;
    const Shape want = fm ? Shape{n_features, n_frames} : Shape{n_frames, n_features};
    if (!(out.shape() == want))
      throw ShapeError(std::string(Derived::name) + ": output must have shape " + want.str() +
                       (fm ? " [features, frames]" : " [frames, features]") + ", got " + out.shape().str());
    if (fm)
      self.compute(signal, out.data(), n_frames, 1);
    else
      self.compute(signal, out.data(), 1, n_features);
  }

  // A new tensor, [features, frames] (torchaudio) or [frames, features].
  Tensor operator()(std::span<const float> signal, FeatureLayout layout = FeatureLayout::feature_major) {
    Derived& self = static_cast<Derived&>(*this);
    const index n_frames = self.frames(index(signal.size())), n_features = self.features();
    Tensor out(layout == FeatureLayout::feature_major ? Shape{n_features, n_frames} : Shape{n_frames, n_features});
    compute(signal, out.view(), layout);
    return out;
  }
  // Mono audio at the rate the transform was built for.
  Tensor operator()(const Audio& audio, FeatureLayout layout = FeatureLayout::feature_major) {
    static_cast<const Derived&>(*this).check_rate(audio.sample_rate);
    return (*this)(detail::mono_samples(audio, Derived::name), layout);
  }
};

class MelSpectrogram : public FeatureTransform<MelSpectrogram> {
 public:
  static constexpr const char* name = "MelSpectrogram";
  using FeatureTransform::compute;

  explicit MelSpectrogram(MelSpectrogramOptions options)
      : stft_(checked(options).stft), fb_(stft_.bins(), options.mel) {}

  index n_mels() const noexcept { return fb_.n_mels(); }
  index features() const noexcept { return n_mels(); }
  index frames(index length) const { return stft_.frames(length); }
  const Stft& stft() const noexcept { return stft_; }
  const MelFilterbank& filterbank() const noexcept { return fb_; }

  // Mel energies into out[m * mel_stride + t * frame_stride]; allocates nothing.
  void compute(std::span<const float> signal, float* out, index mel_stride, index frame_stride) {
    const index n_frames = stft_.frames(index(signal.size()));
    for (index t0 = 0; t0 < n_frames; t0 += Stft::block)
      compute_block(signal, t0, n_frames, out + t0 * frame_stride, mel_stride, frame_stride);
  }
  // The same for frames t0 .. t0 + block - 1 of the n_frames there are (those that
  // exist); returns how many that is.
  index compute_block(std::span<const float> signal, index t0, index n_frames, float* out, index mel_stride,
                      index frame_stride) {
    const index count = std::min(Stft::block, n_frames - t0);
    fb_.apply_block<Stft::block>(stft_.compute_block(signal, t0), count, out, mel_stride, frame_stride);
    return count;
  }
  void check_rate(int rate) const {
    if (rate != fb_.options().sample_rate)
      throw RangeError("MelSpectrogram: built for " + std::to_string(fb_.options().sample_rate) + " Hz, the audio is " +
                       std::to_string(rate) + " Hz (see resample())");
  }

 private:
  static MelSpectrogramOptions& checked(MelSpectrogramOptions& o) {
    if (!o.stft.onesided) throw RangeError("MelSpectrogram: the STFT must be onesided");
    return o;
  }

  Stft stft_;
  MelFilterbank fb_;
};

// natural: log(x + offset) (MFCC's log_mels); decibel: AmplitudeToDB, i.e.
// multiplier * log10(max(x, amin)) - multiplier * log10(max(amin, ref)), then, when
// top_db > 0, clamped from below at (max over the whole spectrogram) - top_db.
enum class LogKind { natural, decibel };
struct LogOptions {
  LogKind kind = LogKind::natural;
  float offset = 1e-6f;
  float multiplier = 10.0f;  // 10 for power spectra, 20 for magnitudes
  float amin = 1e-10f;
  float ref = 1.0f;
  float top_db = 0.0f;  // 0: no clamp
};

namespace detail {
// A strided [rows, cols] block, one of whose strides is 1 (both layouts the transforms
// write), as rows of contiguous runs.
struct Runs {
  float* x;
  index rows, cols, row_stride;
  Runs(float* x_, index rows_, index cols_, index row_stride_, index col_stride) : x(x_), rows(rows_), cols(cols_), row_stride(row_stride_) {
    if (col_stride != 1) {  // walk the other way: the block is its own transpose in memory
      std::swap(rows, cols);
      std::swap(row_stride, col_stride);
    }
    if (col_stride != 1) throw ShapeError("apply_log: one of the strides must be 1");
  }
  float* run(index r) const noexcept { return x + r * row_stride; }
};

// The logarithm of LogOptions in place, without the top_db clamp; returns the largest
// value (decibel) for that clamp. The logarithms run vectorized over contiguous runs.
inline float log_values(const Runs& b, const LogOptions& o) {
  float top = -std::numeric_limits<float>::infinity();
  const float db_scale = o.multiplier / std::numbers::ln10_v<float>;
  const float db_ref = o.multiplier * std::log10(std::max(o.amin, o.ref));
  for (index r = 0; r < b.rows; ++r) {
    float* v = b.run(r);
    if (o.kind == LogKind::natural) {
      for (index c = 0; c < b.cols; ++c) v[c] += o.offset;
      kernels::log(v, v, b.cols);
    } else {
      for (index c = 0; c < b.cols; ++c) v[c] = std::max(v[c], o.amin);  // the dB floor: log(0) is -inf
      kernels::log(v, v, b.cols);
      for (index c = 0; c < b.cols; ++c) {
        v[c] = v[c] * db_scale - db_ref;
        top = std::max(top, v[c]);
      }
    }
  }
  return top;
}

inline void clamp_below(const Runs& b, float floor) {
  for (index r = 0; r < b.rows; ++r) {
    float* v = b.run(r);
    for (index c = 0; c < b.cols; ++c) v[c] = std::max(v[c], floor);
  }
}

// Options that would make every value NaN or -inf, or clamp nothing while seeming to,
// are RangeErrors naming `who`.
inline void check_log_options(const LogOptions& o, const char* who) {
  auto bad = [&](const char* what, float v, const char* need) {
    throw RangeError(std::string(who) + ": LogOptions::" + what + " must be " + need + ", got " + std::to_string(v));
  };
  if (o.kind == LogKind::natural && !(o.offset >= 0.0f && std::isfinite(o.offset))) bad("offset", o.offset, "finite and not negative");
  if (o.kind == LogKind::decibel) {
    // (torchaudio has only 10 and 20; a huge one overflows every decibel value to -inf)
    if (!(o.multiplier > 0.0f && o.multiplier <= 100.0f)) bad("multiplier", o.multiplier, "in (0, 100] (10 for power, 20 for magnitude)");
    if (!(o.amin > 0.0f && std::isfinite(o.amin))) bad("amin", o.amin, "positive and finite (it is the dB floor)");
    if (!(o.ref > 0.0f && std::isfinite(o.ref))) bad("ref", o.ref, "positive and finite");
    if (!(o.top_db >= 0.0f)) bad("top_db", o.top_db, "0 (no clamp) or positive");
  }
}

// Whether the top_db clamp applies, which needs the maximum over the whole spectrogram.
inline bool clamps(const LogOptions& o) noexcept { return o.kind == LogKind::decibel && o.top_db > 0.0f; }

// Applies LogOptions in place to a whole spectrogram.
inline void apply_log(float* x, index rows, index cols, index row_stride, index col_stride, const LogOptions& o) {
  const Runs b(x, rows, cols, row_stride, col_stride);
  const float top = log_values(b, o);
  if (clamps(o)) clamp_below(b, top - o.top_db);
}
}  // namespace detail

struct LogMelOptions {
  MelSpectrogramOptions mel_spectrogram{};
  LogOptions log{};
};

class LogMel : public FeatureTransform<LogMel> {
 public:
  static constexpr const char* name = "LogMel";
  using FeatureTransform::compute;

  explicit LogMel(LogMelOptions options) : mel_(options.mel_spectrogram), log_(options.log) {
    detail::check_log_options(log_, name);
  }

  index n_mels() const noexcept { return mel_.n_mels(); }
  index features() const noexcept { return n_mels(); }
  index frames(index length) const { return mel_.frames(length); }
  const MelSpectrogram& mel_spectrogram() const noexcept { return mel_; }

  // Log-mels into out[m * mel_stride + t * frame_stride]; one of the strides must be 1.
  void compute(std::span<const float> signal, float* out, index mel_stride, index frame_stride) {
    mel_.compute(signal, out, mel_stride, frame_stride);
    detail::apply_log(out, n_mels(), frames(index(signal.size())), mel_stride, frame_stride, log_);
  }
  void check_rate(int rate) const { mel_.check_rate(rate); }

 private:
  MelSpectrogram mel_;
  LogOptions log_;
};

// [F, T] (torchaudio's layout) → [1, T, F], the layout Seq<F> wraps.
inline Tensor time_major(TensorView<const float> features) {
  if (features.rank() != 2)
    throw ShapeError("time_major: needs a [features, frames] tensor, got " + features.shape().str());
  const index f = features.dim(0), t = features.dim(1);
  Tensor out(Shape{1, t, f});
  for (index i = 0; i < f; ++i)
    for (index j = 0; j < t; ++j) out[j * f + i] = features[i * t + j];
  return out;
}

}  // namespace mmm
