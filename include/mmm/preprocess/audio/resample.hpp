#pragma once
// Band-limited resampling with torchaudio.functional.resample semantics (torchaudio 0.13):
// a windowed-sinc polyphase filter. With g = gcd(orig, new), o = orig/g and n = new/g,
// output sample j = b*n + i (phase i) is the dot product of kernel i (2*width + o taps) with
// the input from b*o - width, zeros outside the signal; the output has ceil(n*length/o)
// samples. The cut-off is rolloff * min(o, n) and width = ceil(lowpass_filter_width * o /
// cutoff); windows are Hann (cos^2, torchaudio's "sinc_interpolation") or Kaiser with beta.
//
// The kernels are built with torchaudio's float32 arithmetic, so outputs agree with it to
// about 1e-6 of the signal's peak.

#include <algorithm>
#include <cmath>
#include <numbers>
#include <cstdint>
#include <numeric>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "mmm/core/checked.hpp"
#include "mmm/core/errors.hpp"
#include "mmm/core/tensor.hpp"
#include "mmm/preprocess/audio/wav.hpp"

namespace mmm {

// torchaudio 0.13 calls these "sinc_interpolation" and "kaiser_window"; 2.x renamed them
// "sinc_interp_hann" and "sinc_interp_kaiser".
enum class ResamplingMethod { sinc_interp_hann, kaiser_window, sinc_interp_kaiser = kaiser_window };

struct ResampleOptions {
  int lowpass_filter_width = 6;
  double rolloff = 0.99;
  ResamplingMethod method = ResamplingMethod::sinc_interp_hann;
  std::optional<double> beta{};  // Kaiser beta; default 14.769656459379492 as torchaudio
};

class Resampler {
 public:
  Resampler(int orig_rate, int new_rate, ResampleOptions options = {}) try : options_(options) {
    if (orig_rate <= 0 || new_rate <= 0)
      throw RangeError("Resampler: sample rates must be positive, got " + std::to_string(orig_rate) + " -> " +
                       std::to_string(new_rate) + " Hz");
    if (options.lowpass_filter_width <= 0)
      throw RangeError("Resampler: lowpass_filter_width must be positive, got " +
                       std::to_string(options.lowpass_filter_width));
    if (!(options.rolloff > 0.0 && options.rolloff <= 1.0))
      throw RangeError("Resampler: rolloff must be in (0, 1], got " + std::to_string(options.rolloff));
    const int g = std::gcd(orig_rate, new_rate);
    orig_ = orig_rate / g;
    new_ = new_rate / g;
    if (orig_ == new_) return;  // identity, as torchaudio
    const double base = double(std::min(orig_, new_)) * options.rolloff;
    const double lw = double(options.lowpass_filter_width);
    width_ = index(std::ceil(lw * double(orig_) / base));
    taps_ = 2 * width_ + orig_;
    if (double(taps_) * double(new_) > double(1 << 24))  // 64 MiB of kernels
      throw RangeError("Resampler: " + std::to_string(orig_rate) + " -> " + std::to_string(new_rate) +
                       " Hz reduces to " + std::to_string(orig_) + "/" + std::to_string(new_) +
                       ", whose filter bank would be too large; round the rates");
    kernels_.assign(std::size_t(taps_ * new_), 0.0f);
    // The kernel arithmetic follows torchaudio's float32 steps (time index, scaling, clamp,
    // window, sinc), because the time argument t = (k/o - i/n) * cutoff cancels: computing it
    // in double would differ from torchaudio by ~1e-5 of the signal, float32 steps by ~1e-7.
    const double beta = options.beta.value_or(14.769656459379492);
    const float i0_beta = float(std::cyl_bessel_i(0.0, double(float(beta))));
    const float base_f = float(base), lw_f = float(lw), pi_f = float(std::numbers::pi);
    const float scale = float(base / double(orig_));
    support_.assign(std::size_t(2 * new_), 0);
    for (index i = 0; i < new_; ++i) {
      const float phase = float(-i) / float(new_);
      index first = taps_, last = -1;
      for (index k = 0; k < taps_; ++k) {
        float t = (phase + float(k - width_) / float(orig_)) * base_f;
        // Beyond the window the taps are cos^2(pi/2)·sinc ≈ 1e-15 (Hann) or ~1e-13
        // (Kaiser): skipping them leaves about 2·lowpass_filter_width·o/cutoff taps of
        // the 2·width + o, a large saving when o is big (441 for 44.1 -> 16 kHz).
        if (std::fabs(t) < lw_f) first = std::min(first, k), last = k;
        t = std::clamp(t, -lw_f, lw_f);
        float window;
        if (options.method == ResamplingMethod::sinc_interp_hann) {
          const float c = std::cos(t * pi_f / lw_f / 2.0f);
          window = c * c;
        } else {
          const float r = t / lw_f;
          const float arg = float(beta) * std::sqrt(std::max(0.0f, 1.0f - r * r));
          window = float(std::cyl_bessel_i(0.0, double(arg))) / i0_beta;
        }
        const float x = t * pi_f;
        const float sinc = x == 0.0f ? 1.0f : std::sin(x) / x;
        kernels_[std::size_t(i * taps_ + k)] = sinc * (window * scale);
      }
      support_[std::size_t(2 * i)] = last < first ? 0 : first;
      support_[std::size_t(2 * i + 1)] = last < first ? 0 : last + 1;
    }
  } catch (...) {
    rethrow_allocation_failure([&] {
      return "Resampler (" + std::to_string(orig_rate) + " -> " + std::to_string(new_rate) + " Hz)";
    });
  }

  bool identity() const noexcept { return orig_ == new_; }
  // ceil(new * length / orig) in reduced rates, as torchaudio.
  index output_length(index length) const {
    return checked_add(checked_mul(new_, length, "Resampler: output length"), orig_ - 1, "Resampler: output length") / orig_;
  }

  // Resamples `in` into `out` (output_length(in.size()) samples); allocates nothing.
  void process(std::span<const float> in, float* out) const {
    const index n = index(in.size());
    const index m = output_length(n);
    if (identity()) {
      std::copy(in.begin(), in.end(), out);
      return;
    }
    for (index j = 0; j < m; ++j) {
      const index b = j / new_, phase = j % new_;
      const index start = b * orig_ - width_;
      const float* kernel = kernels_.data() + phase * taps_;
      index k0 = support_[std::size_t(2 * phase)], k1 = support_[std::size_t(2 * phase + 1)];
      if (start + k0 < 0) k0 = -start;
      if (start + k1 > n) k1 = n - start;
      float acc = 0.0f;
      if (k1 > k0) {
        Eigen::Map<const Eigen::VectorXf> kv(kernel + k0, k1 - k0), xv(in.data() + start + k0, k1 - k0);
        acc = kv.dot(xv);
      }
      out[j] = acc;
    }
  }

  std::vector<float> operator()(std::span<const float> in) const {
    std::vector<float> out(std::size_t(output_length(index(in.size()))));
    process(in, out.data());
    return out;
  }

 private:
  ResampleOptions options_;
  index orig_ = 1, new_ = 1, width_ = 0, taps_ = 0;
  std::vector<float> kernels_;  // [new_, taps_]
  std::vector<index> support_;  // per phase: [first, end) of the taps inside the window
};

// Every channel of `audio` at `new_rate`.
inline Audio resample(const Audio& audio, int new_rate, ResampleOptions options = {}) {
  if (audio.samples.rank() != 2)
    throw ShapeError("resample: samples must have shape [channels, frames], got " + audio.samples.shape().str());
  const Resampler r(audio.sample_rate, new_rate, options);
  const index channels = audio.channels(), frames = audio.frames();
  const index out_frames = r.output_length(frames);
  Audio out;
  out.sample_rate = new_rate;
  out.samples = Tensor(Shape{channels, out_frames});
  for (index c = 0; c < channels; ++c)
    r.process({audio.channel(c), std::size_t(frames)}, out.channel(c));
  return out;
}

}  // namespace mmm
