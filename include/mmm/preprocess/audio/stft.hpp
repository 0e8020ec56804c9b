#pragma once
// Short-time Fourier transform with torch.stft / torchaudio.transforms.Spectrogram
// semantics.
//
// An `Stft` is a plan: the window (zero-padded to n_fft and centred, as torch.stft does
// when win_length < n_fft), the FFT plan and the per-frame scratch are built once; then
// each call only reads the signal and writes the caller's buffer. Output layout is
// torchaudio's [bins, frames] unless the caller passes other strides (time-major
// [frames, bins] is `frame_stride = bins, bin_stride = 1`).
//
// The signal is first extended by `pad` zeros on each side (torchaudio's `pad`; length
// below includes them). Frame t covers padded samples [t*hop, t*hop + n_fft), where with
// center=true that signal is padded by n_fft/2 on each side (pad_mode reflect, constant
// (zeros) or replicate), so frames = 1 + (length + 2*(n_fft/2) - n_fft) / hop; with
// center=false no padding and frames = 1 + (length - n_fft) / hop.
//
// Frames go through the FFT `block` (16) at a time, one per SIMD lane of RealFftBatch.
// Not thread-safe (the scratch lives in the plan): one plan per thread.

#include <algorithm>
#include <cmath>
#include <complex>
#include <numbers>
#include <span>
#include <string>
#include <vector>

#include "mmm/core/checked.hpp"
#include "mmm/core/errors.hpp"
#include "mmm/core/tensor.hpp"
#include "mmm/preprocess/audio/fft_batch.hpp"

namespace mmm {

enum class WindowKind { hann, hamming, blackman, rectangular };
enum class StftPadMode { reflect, constant, replicate };
// none; frame_length: divide by sqrt(n_fft) (torch.stft normalized=True); window: divide by
// the window's L2 norm (torchaudio Spectrogram normalized=True / "window").
enum class StftNormalization { none, frame_length, window };

// torch.hann_window / hamming_window / blackman_window with `periodic` semantics.
inline std::vector<float> make_window(WindowKind kind, index length, bool periodic = true) {
  if (length < 1) throw RangeError("make_window: window length must be positive, got " + std::to_string(length));
  std::vector<float> w(static_cast<std::size_t>(length), 1.0f);
  if (length == 1 || kind == WindowKind::rectangular) return w;
  const double denom = periodic ? double(length) : double(length - 1);
  for (index i = 0; i < length; ++i) {
    const double x = 2.0 * std::numbers::pi * double(i) / denom;
    double v = 1.0;
    switch (kind) {
      case WindowKind::hann: v = 0.5 - 0.5 * std::cos(x); break;
      case WindowKind::hamming: v = 0.54 - 0.46 * std::cos(x); break;
      case WindowKind::blackman: v = 0.42 - 0.5 * std::cos(x) + 0.08 * std::cos(2 * x); break;
      case WindowKind::rectangular: break;
    }
    w[static_cast<std::size_t>(i)] = static_cast<float>(v);
  }
  return w;
}

struct StftOptions {
  index n_fft = 400;
  index win_length = 0;  // 0: n_fft
  index hop_length = 0;  // 0: win_length / 4
  index pad = 0;         // zeros added on both sides first (torchaudio Spectrogram's `pad`)
  WindowKind window = WindowKind::hann;
  bool periodic_window = true;
  bool center = true;
  StftPadMode pad_mode = StftPadMode::reflect;
  StftNormalization normalized = StftNormalization::none;
  bool onesided = true;
  // Output of compute(): |X|^power. 2 is the power spectrum, 1 the magnitude.
  float power = 2.0f;
};

class Stft {
 public:
  // Frames are transformed `block` at a time, one per SIMD lane of the batched FFT.
  static constexpr index block = RealFftBatch::lanes;

  explicit Stft(StftOptions options) try : o_(validated(options)), fft_(o_.n_fft) {
    const index win = o_.win_length;
    window_.assign(static_cast<std::size_t>(o_.n_fft), 0.0f);
    const std::vector<float> w = make_window(o_.window, win, o_.periodic_window);
    win_offset_ = (o_.n_fft - win) / 2;
    double energy = 0;
    for (index i = 0; i < win; ++i) {
      window_[static_cast<std::size_t>(win_offset_ + i)] = w[static_cast<std::size_t>(i)];
      energy += double(w[static_cast<std::size_t>(i)]) * w[static_cast<std::size_t>(i)];
    }
    scale_ = o_.normalized == StftNormalization::frame_length ? float(1.0 / std::sqrt(double(o_.n_fft)))
             : o_.normalized == StftNormalization::window     ? float(1.0 / std::sqrt(energy))
                                                              : 1.0f;
    frames_ = allocate_aligned<float>(o_.n_fft * block);
    std::fill_n(frames_.get(), o_.n_fft * block, 0.0f);  // outside the window stays zero
    spectrum_ = allocate_aligned<float>(2 * fft_.bins() * block);
    power_ = allocate_aligned<float>(bins() * block);
  } catch (...) {
    rethrow_allocation_failure([&] { return "Stft (n_fft " + std::to_string(options.n_fft) + ")"; });
  }
  Stft(const Stft& other) : Stft(other.o_) {}
  Stft& operator=(const Stft& other) {
    if (this != &other) *this = Stft(other.o_);
    return *this;
  }
  Stft(Stft&&) noexcept = default;
  Stft& operator=(Stft&&) noexcept = default;

  const StftOptions& options() const noexcept { return o_; }
  index n_fft() const noexcept { return o_.n_fft; }
  index hop() const noexcept { return o_.hop_length; }
  // Frequency bins per frame: n_fft/2 + 1 onesided, n_fft otherwise.
  index bins() const noexcept { return o_.onesided ? o_.n_fft / 2 + 1 : o_.n_fft; }
  // The padded window actually applied, n_fft long.
  std::span<const float> window() const noexcept { return window_; }

  // Frames for a signal of `length` samples; RangeError when the signal is too short.
  index frames(index length) const {
    length = checked_add(length, checked_mul(2, o_.pad, "Stft: pad"), "Stft: padded length");
    check_length(length);
    const index padded = checked_add(length, o_.center ? 2 * (o_.n_fft / 2) : 0, "Stft: padded length");
    return 1 + (padded - o_.n_fft) / o_.hop_length;
  }

  // |X[bin, t]|^power * normalization into out[bin * bin_stride + t * frame_stride].
  void compute(std::span<const float> signal, float* out, index bin_stride, index frame_stride) {
    const index n_frames = frames(index(signal.size()));
    const index n_bins = bins();
    for (index t0 = 0; t0 < n_frames; t0 += block) {
      const index count = std::min(block, n_frames - t0);
      const float* p = compute_block(signal, t0);
      for (index k = 0; k < n_bins; ++k)
        for (index l = 0; l < count; ++l) out[k * bin_stride + (t0 + l) * frame_stride] = p[k * block + l];
    }
  }

  // The complex spectrum (times the normalization), laid out like compute().
  void compute_complex(std::span<const float> signal, std::complex<float>* out, index bin_stride, index frame_stride) {
    const index n_frames = frames(index(signal.size()));
    const index n_bins = bins(), half = o_.n_fft / 2;
    for (index t0 = 0; t0 < n_frames; t0 += block) {
      const index count = std::min(block, n_frames - t0);
      transform_block(signal, t0, count);
      for (index k = 0; k < n_bins; ++k) {
        // Two-sided bins above n/2 are the conjugates of their mirror images.
        const bool mirrored = k > half;
        const float* re = spectrum_.get() + 2 * (mirrored ? o_.n_fft - k : k) * block;
        const float* im = re + block;
        for (index l = 0; l < count; ++l)
          out[k * bin_stride + (t0 + l) * frame_stride] =
              std::complex<float>(re[l] * scale_, (mirrored ? -im[l] : im[l]) * scale_);
      }
    }
  }

  // The block primitive that mel spectrograms build on: |X|^power of frames t0 ..
  // t0 + block - 1 (those that exist) as [bins][block], valid until the next call.
  const float* compute_block(std::span<const float> signal, index t0) {
    const index n_frames = frames(index(signal.size()));
    if (t0 < 0 || t0 >= n_frames)
      throw RangeError("Stft: block start " + std::to_string(t0) + " is outside the " + std::to_string(n_frames) +
                       " frames of the signal");
    transform_block(signal, t0, std::min(block, n_frames - t0));
    const index n_bins = bins(), half = o_.n_fft / 2;
    const float s2 = scale_ * scale_;
    for (index k = 0; k < n_bins; ++k) {
      const float* re = spectrum_.get() + 2 * (k > half ? o_.n_fft - k : k) * block;
      const float* im = re + block;
      float* p = power_.get() + k * block;
      for (index l = 0; l < block; ++l) p[l] = (re[l] * re[l] + im[l] * im[l]) * s2;
      if (o_.power == 1.0f) {
        for (index l = 0; l < block; ++l) p[l] = std::sqrt(p[l]);
      } else if (o_.power != 2.0f) {
        for (index l = 0; l < block; ++l) p[l] = std::pow(p[l], 0.5f * o_.power);
      }
    }
    return power_.get();
  }

  // Convenience: a new [bins, frames] tensor.
  Tensor operator()(std::span<const float> signal) {
    Tensor out(Shape{bins(), frames(index(signal.size()))});
    compute(signal, out.data(), out.dim(1), 1);
    return out;
  }

 private:
  static StftOptions validated(StftOptions o) {
    // The plan holds `block` frames of n_fft samples several times over (~288·n_fft bytes; up to
    // ~700·n_fft when a large prime factor makes the FFT a Bluestein convolution of ~2·n_fft):
    // 2^20 is 300 to 700 MiB.
    if (o.n_fft < 1 || o.n_fft > (index(1) << 20))
      throw RangeError("Stft: n_fft must be in [1, 2^20], got " + std::to_string(o.n_fft));
    if (o.win_length == 0) o.win_length = o.n_fft;
    if (o.win_length < 1 || o.win_length > o.n_fft)
      throw RangeError("Stft: win_length must be in [1, n_fft = " + std::to_string(o.n_fft) + "], got " +
                       std::to_string(o.win_length));
    if (o.hop_length == 0) o.hop_length = std::max<index>(o.win_length / 4, 1);
    if (o.hop_length < 1) throw RangeError("Stft: hop_length must be positive, got " + std::to_string(o.hop_length));
    if (o.pad < 0) throw RangeError("Stft: pad must not be negative, got " + std::to_string(o.pad));
    if (!(o.power > 0.0f) || !std::isfinite(o.power))
      throw RangeError("Stft: power must be a positive number, got " + std::to_string(o.power));
    return o;
  }

  void check_length(index length) const {
    if (o_.center) {
      const index pad = o_.n_fft / 2;
      if (o_.pad_mode == StftPadMode::reflect && length <= pad)
        throw RangeError("Stft: reflect padding of " + std::to_string(pad) + " needs a signal longer than that, got " +
                         std::to_string(length) + " samples");
      if (length < 1) throw RangeError("Stft: the signal is empty");
    } else if (length < o_.n_fft) {
      throw RangeError("Stft: with center=false the signal needs at least n_fft = " + std::to_string(o_.n_fft) +
                       " samples, got " + std::to_string(length));
    }
  }

  // Sample i of the signal extended by `pad` zeros (i may lie outside it: centre padding).
  float padded_sample(std::span<const float> s, index i) const {
    const index n = index(s.size()), extended = n + 2 * o_.pad;
    if (i < 0 || i >= extended) {
      switch (o_.pad_mode) {
        case StftPadMode::constant: return 0.0f;
        case StftPadMode::replicate: i = i < 0 ? 0 : extended - 1; break;
        // Mirror without repeating the edge sample; check_length() keeps one reflection enough.
        case StftPadMode::reflect: i = i < 0 ? -i : 2 * (extended - 1) - i; break;
      }
    }
    const index j = i - o_.pad;
    return j >= 0 && j < n ? s[static_cast<std::size_t>(j)] : 0.0f;
  }

  // Windowed frames t0 .. t0 + count - 1 into the lanes of frames_ ([n_fft][block]; lanes
  // past count keep old frames, whose results nobody reads), then one batched FFT.
  void transform_block(std::span<const float> signal, index t0, index count) {
    const index n = o_.n_fft, hop = o_.hop_length;
    const index w0 = win_offset_, w1 = win_offset_ + o_.win_length;
    const index first = t0 * hop - (o_.center ? n / 2 : 0) - o_.pad;  // signal index of frame t0
    const index last = first + (count - 1) * hop;
    float* f = frames_.get();
    const float* w = window_.data();
    if (first + w0 >= 0 && last + w1 <= index(signal.size())) {
      const float* x = signal.data() + first;
      for (index j = w0; j < w1; ++j) {
        const float wj = w[j];
        for (index l = 0; l < count; ++l) f[j * block + l] = x[l * hop + j] * wj;
      }
    } else {
      for (index l = 0; l < count; ++l)
        for (index j = w0; j < w1; ++j) f[j * block + l] = padded_sample(signal, first + o_.pad + l * hop + j) * w[j];
    }
    fft_.forward(f, spectrum_.get());
  }

  StftOptions o_;
  RealFftBatch fft_;
  std::vector<float> window_;
  index win_offset_ = 0;
  float scale_ = 1.0f;
  AlignedArray<float> frames_;    // [n_fft][block]
  AlignedArray<float> spectrum_;  // [n_fft/2 + 1][2][block]
  AlignedArray<float> power_;     // [bins][block]
};

}  // namespace mmm
