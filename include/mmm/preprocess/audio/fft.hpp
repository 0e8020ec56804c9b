#pragma once
// A real-input FFT of any length, planned once.
//
// The transform is Eigen's FFT module (unsupported/Eigen/FFT, kissfft backend: mixed radix
// 2/3/4/5 plus a generic odd-radix pass, so primes work too; lengths divisible by 4 run as
// a half-length complex FFT). Constructing a RealFft builds the twiddles and the internal
// buffers for its length once, so forward() never allocates afterwards.
//
// A plan is not safe to use from two threads at once (kissfft keeps scratch in the plan);
// give each thread its own copy.

#include <complex>
#include <span>
#include <string>
#include <vector>

#include <unsupported/Eigen/FFT>

#include "mmm/core/errors.hpp"
#include "mmm/core/tensor.hpp"

namespace mmm {

class RealFft {
 public:
  explicit RealFft(index n) : n_(n) {
    if (n < 1 || n > (index(1) << 30))
      throw RangeError("RealFft: length must be in [1, 2^30], got " + std::to_string(n));
    fft_.SetFlag(Eigen::FFT<float>::HalfSpectrum);
    if (n == 1) return;  // kissfft cannot plan length 1; forward() copies instead
    // One transform now, so that kissfft builds its plan, twiddles and scratch here and
    // not in the first steady-state call.
    std::vector<float> in(static_cast<std::size_t>(n), 0.0f);
    std::vector<std::complex<float>> out(static_cast<std::size_t>(n));
    fft_.fwd(out.data(), in.data(), n);
  }

  index size() const noexcept { return n_; }
  index bins() const noexcept { return n_ / 2 + 1; }

  // X[k] = sum_t x[t] e^{-2 pi i k t / n} for k in [0, n/2]: `in` has size(), `out`
  // bins() elements. Unnormalized, like torch.fft.rfft.
  void forward(const float* in, std::complex<float>* out) {
    if (n_ == 1) {
      out[0] = in[0];
      return;
    }
    fft_.fwd(out, in, n_);
  }

 private:
  index n_;
  Eigen::FFT<float> fft_;
};

}  // namespace mmm
