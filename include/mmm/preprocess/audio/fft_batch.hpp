#pragma once
// Real FFTs of one length over a batch of `lanes` signals at once, the layout an STFT
// wants: sample j of signal l is in[j * lanes + l], so every butterfly works on `lanes`
// adjacent floats and the compiler turns each of its lines into vector instructions (the
// same idea as pocketfft's multi-transform vectorization), with no intrinsics here.
//
// Algorithm: mixed-radix Stockham autosort (FFTPACK's pass structure: butterfly, then
// twiddle), radix 4, 2, 3, 5 specialised and any other prime as a direct DFT that pairs
// conjugate outputs (p^2 real multiply-adds per butterfly), so every length works. A
// direct radix p costs O(n·p), quadratic for a large prime: where the plan's cost guess
// says so (pocketfft's rule), the length-m transform runs instead as Bluestein's chirp-z
// convolution through a 5-smooth FFT of M >= 2m - 1, so every length is O(n log n).
// An even length n runs as a complex FFT of n/2 over the even/odd samples plus one
// post-processing pass; an odd length as a complex FFT of n with zero imaginary parts.
// Twiddles and chirps are computed in double once, in the plan.
//
// A plan owns its scratch (ping-pong buffers), so forward() allocates nothing and the
// plan is for one thread at a time.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <string>
#include <vector>

#include "mmm/core/errors.hpp"
#include "mmm/core/tensor.hpp"

namespace mmm {

class RealFftBatch {
 public:
  // 16 floats: one AVX-512 register, two AVX2 ones; keeps n = 400's buffers in L1/L2.
  static constexpr index lanes = 16;

  explicit RealFftBatch(index n) : n_(n) {
    if (n < 1 || n > (index(1) << 24))
      throw RangeError("RealFftBatch: length must be in [1, 2^24], got " + std::to_string(n));
    even_ = n % 2 == 0;
    m_ = even_ ? n / 2 : n;  // complex transform length
    if (bluestein_pays(m_)) {
      fft_ = Stockham(smooth_length_at_least(2 * m_ - 1));
      plan_bluestein();
    } else {
      fft_ = Stockham(m_);
    }
    if (even_) {
      post_.resize(std::size_t(2 * (m_ + 1)));
      for (index k = 0; k <= m_; ++k) {
        const double a = 2.0 * std::numbers::pi * double(k) / double(n_);
        post_[std::size_t(2 * k)] = float(std::cos(a));
        post_[std::size_t(2 * k + 1)] = float(-std::sin(a));
      }
    }
  }
  RealFftBatch(const RealFftBatch& o) : RealFftBatch(o.n_) {}
  RealFftBatch& operator=(const RealFftBatch& o) {
    if (this != &o) *this = RealFftBatch(o.n_);
    return *this;
  }
  RealFftBatch(RealFftBatch&&) noexcept = default;
  RealFftBatch& operator=(RealFftBatch&&) noexcept = default;

  index size() const noexcept { return n_; }
  index bins() const noexcept { return n_ / 2 + 1; }
  // Whether the plan runs Bluestein's convolution (for tests and benchmarks).
  bool uses_bluestein() const noexcept { return !chirp_.empty(); }

  // in: [n][lanes] real samples. out: [bins][2][lanes], real parts then imaginary parts of
  // bin k for every lane at out + 2 * k * lanes. Unnormalized, like torch.fft.rfft.
  void forward(const float* in, float* out) {
    // For even n the real input [n][lanes] already is the complex array [n/2][2][lanes]
    // of z[t] = x[2t] + i x[2t+1]; for odd n, z[t] = x[t].
    const float* result = uses_bluestein() ? bluestein(in) : direct(in);
    if (!even_) {
      std::copy_n(result, 2 * bins() * lanes, out);
      return;
    }
    post_process(result, out);
  }

 private:
  // A complex FFT of one length over [len][2][lanes] arrays, with its buffers.
  class Stockham {
   public:
    Stockham() = default;
    explicit Stockham(index m) : m_(m) {
      plan(m);
      buf_[0] = allocate_aligned<float>(2 * m * lanes);
      buf_[1] = allocate_aligned<float>(2 * m * lanes);
      scratch_ = allocate_aligned<float>(2 * max_generic_ * lanes);
    }
    index size() const noexcept { return m_; }
    float* buffer(int i) noexcept { return buf_[i].get(); }

    // Runs every stage from `src`, ping-ponging between the buffers from buffer(first_buffer)
    // on (src may be the other one); returns where the result is.
    float* run(const float* src, int first_buffer) {
      int dst = first_buffer;
      float* result = const_cast<float*>(src);  // m == 1: no stages, the input is the transform
      for (const Stage& s : stages_) {
        result = buf_[dst].get();
        pass(s, src, result, scratch_.get());
        src = result;
        dst ^= 1;
      }
      return result;
    }

   private:
    struct Stage {
      index radix, l1, ido;
      std::vector<float> twiddles;  // [(u - 1) * ido + i] as (re, im) pairs, u in [1, radix)
      std::vector<float> roots;     // generic radix: cos, sin of 2πj/p, j in [0, p)
    };

    void plan(index m) {
      index l1 = 1;
      for (index p : factors(m)) {
        Stage s{p, l1, m / (l1 * p), {}, {}};
        s.twiddles.resize(std::size_t(2 * (p - 1) * s.ido));
        for (index u = 1; u < p; ++u)
          for (index i = 0; i < s.ido; ++i) {
            const double a = -2.0 * std::numbers::pi * double(u * i * l1) / double(m);
            s.twiddles[std::size_t(2 * ((u - 1) * s.ido + i))] = float(std::cos(a));
            s.twiddles[std::size_t(2 * ((u - 1) * s.ido + i) + 1)] = float(std::sin(a));
          }
        if (p > 5) {
          max_generic_ = std::max(max_generic_, p);
          s.roots.resize(std::size_t(2 * p));
          for (index j = 0; j < p; ++j) {
            const double a = 2.0 * std::numbers::pi * double(j) / double(p);
            s.roots[std::size_t(2 * j)] = float(std::cos(a));
            s.roots[std::size_t(2 * j + 1)] = float(std::sin(a));
          }
        }
        stages_.push_back(std::move(s));
        l1 *= p;
      }
    }

    // One Stockham stage: for each (k, i), a radix-p DFT over cc(i, j, k), j < p, then the
    // twiddle w^(u·i·l1) on output u, stored at ch(i, k, u).
    static void pass(const Stage& s, const float* __restrict cc, float* __restrict ch, float* __restrict scratch) {
      constexpr index L = lanes;
      const index p = s.radix, l1 = s.l1, ido = s.ido;
      auto in = [&](index i, index j, index k) { return cc + 2 * (i + ido * (j + p * k)) * L; };
      auto out = [&](index i, index k, index u) { return ch + 2 * (i + ido * (k + l1 * u)) * L; };
      auto twiddle = [&](float* y, index u, index i) {
        if (i == 0) return;
        const float wr = s.twiddles[std::size_t(2 * ((u - 1) * ido + i))];
        const float wi = s.twiddles[std::size_t(2 * ((u - 1) * ido + i) + 1)];
        for (index l = 0; l < L; ++l) {
          const float re = y[l], im = y[L + l];
          y[l] = re * wr - im * wi;
          y[L + l] = re * wi + im * wr;
        }
      };
      for (index k = 0; k < l1; ++k)
        for (index i = 0; i < ido; ++i) {
          if (p == 2) {
            const float *a0 = in(i, 0, k), *a1 = in(i, 1, k);
            float *y0 = out(i, k, 0), *y1 = out(i, k, 1);
            for (index l = 0; l < 2 * L; ++l) {
              const float x0 = a0[l], x1 = a1[l];
              y0[l] = x0 + x1;
              y1[l] = x0 - x1;
            }
            twiddle(y1, 1, i);
          } else if (p == 4) {
            const float *a0 = in(i, 0, k), *a1 = in(i, 1, k), *a2 = in(i, 2, k), *a3 = in(i, 3, k);
            float *y0 = out(i, k, 0), *y1 = out(i, k, 1), *y2 = out(i, k, 2), *y3 = out(i, k, 3);
            for (index l = 0; l < L; ++l) {
              const float s02r = a0[l] + a2[l], s02i = a0[L + l] + a2[L + l];
              const float d02r = a0[l] - a2[l], d02i = a0[L + l] - a2[L + l];
              const float s13r = a1[l] + a3[l], s13i = a1[L + l] + a3[L + l];
              const float d13r = a1[l] - a3[l], d13i = a1[L + l] - a3[L + l];
              y0[l] = s02r + s13r, y0[L + l] = s02i + s13i;
              y2[l] = s02r - s13r, y2[L + l] = s02i - s13i;
              // -i·d13 = (d13i, -d13r)
              y1[l] = d02r + d13i, y1[L + l] = d02i - d13r;
              y3[l] = d02r - d13i, y3[L + l] = d02i + d13r;
            }
            twiddle(y1, 1, i), twiddle(y2, 2, i), twiddle(y3, 3, i);
          } else if (p == 3) {
            constexpr float c = -0.5f, sn = 0.86602540378443865f;
            const float *a0 = in(i, 0, k), *a1 = in(i, 1, k), *a2 = in(i, 2, k);
            float *y0 = out(i, k, 0), *y1 = out(i, k, 1), *y2 = out(i, k, 2);
            for (index l = 0; l < L; ++l) {
              const float tr = a1[l] + a2[l], ti = a1[L + l] + a2[L + l];
              const float dr = a1[l] - a2[l], di = a1[L + l] - a2[L + l];
              const float mr = a0[l] + c * tr, mi = a0[L + l] + c * ti;
              y0[l] = a0[l] + tr, y0[L + l] = a0[L + l] + ti;
              // -i·sn·d = (sn·di, -sn·dr)
              y1[l] = mr + sn * di, y1[L + l] = mi - sn * dr;
              y2[l] = mr - sn * di, y2[L + l] = mi + sn * dr;
            }
            twiddle(y1, 1, i), twiddle(y2, 2, i);
          } else if (p == 5) {
            constexpr float c1 = 0.30901699437494742f, c2 = -0.80901699437494742f;
            constexpr float s1 = 0.95105651629515357f, s2 = 0.58778525229247313f;
            const float *a0 = in(i, 0, k), *a1 = in(i, 1, k), *a2 = in(i, 2, k), *a3 = in(i, 3, k), *a4 = in(i, 4, k);
            float *y0 = out(i, k, 0), *y1 = out(i, k, 1), *y2 = out(i, k, 2), *y3 = out(i, k, 3), *y4 = out(i, k, 4);
            for (index l = 0; l < L; ++l) {
              const float t1r = a1[l] + a4[l], t1i = a1[L + l] + a4[L + l];
              const float t2r = a2[l] + a3[l], t2i = a2[L + l] + a3[L + l];
              const float t3r = a1[l] - a4[l], t3i = a1[L + l] - a4[L + l];
              const float t4r = a2[l] - a3[l], t4i = a2[L + l] - a3[L + l];
              const float x0r = a0[l], x0i = a0[L + l];
              y0[l] = x0r + t1r + t2r, y0[L + l] = x0i + t1i + t2i;
              const float m1r = x0r + c1 * t1r + c2 * t2r, m1i = x0i + c1 * t1i + c2 * t2i;
              const float m2r = x0r + c2 * t1r + c1 * t2r, m2i = x0i + c2 * t1i + c1 * t2i;
              // n1 = s1·t3 + s2·t4, n2 = s2·t3 − s1·t4; y = m ∓ i·n, −i·n = (n_i, −n_r)
              const float n1r = s1 * t3r + s2 * t4r, n1i = s1 * t3i + s2 * t4i;
              const float n2r = s2 * t3r - s1 * t4r, n2i = s2 * t3i - s1 * t4i;
              y1[l] = m1r + n1i, y1[L + l] = m1i - n1r;
              y4[l] = m1r - n1i, y4[L + l] = m1i + n1r;
              y2[l] = m2r + n2i, y2[L + l] = m2i - n2r;
              y3[l] = m2r - n2i, y3[L + l] = m2i + n2r;
            }
            twiddle(y1, 1, i), twiddle(y2, 2, i), twiddle(y3, 3, i), twiddle(y4, 4, i);
          } else {
            // Direct DFT of odd prime size, pairing outputs u and p − u:
            //   y_u, y_{p−u} = a0 + Σ_j s_j cos(2πju/p) ∓ i Σ_j d_j sin(2πju/p), j in [1, h],
            // with s_j = a_j + a_{p−j}, d_j = a_j − a_{p−j}: a quarter of the plain DFT's work.
            const index h = (p - 1) / 2;
            float* sd = scratch;  // [h][s re, s im, d re, d im][L]
            const float* a0 = in(i, 0, k);
            float* y0 = out(i, k, 0);
            for (index l = 0; l < 2 * L; ++l) y0[l] = a0[l];
            for (index j = 1; j <= h; ++j) {
              const float *aj = in(i, j, k), *am = in(i, p - j, k);
              float* q = sd + 4 * (j - 1) * L;
              for (index l = 0; l < 2 * L; ++l) {
                q[l] = aj[l] + am[l];
                q[2 * L + l] = aj[l] - am[l];
                y0[l] += q[l];
              }
            }
            for (index u = 1; u <= h; ++u) {
              float cr[L], ci[L], sr[L], si[L];
              for (index l = 0; l < L; ++l) cr[l] = a0[l], ci[l] = a0[L + l], sr[l] = 0.0f, si[l] = 0.0f;
              for (index j = 1; j <= h; ++j) {
                const index r = (j * u) % p;
                const float c = s.roots[std::size_t(2 * r)], sn = s.roots[std::size_t(2 * r + 1)];
                const float* q = sd + 4 * (j - 1) * L;
                for (index l = 0; l < L; ++l) {
                  cr[l] += q[l] * c, ci[l] += q[L + l] * c;
                  sr[l] += q[2 * L + l] * sn, si[l] += q[3 * L + l] * sn;
                }
              }
              float *yu = out(i, k, u), *yv = out(i, k, p - u);
              for (index l = 0; l < L; ++l) {
                yu[l] = cr[l] + si[l], yu[L + l] = ci[l] - sr[l];
                yv[l] = cr[l] - si[l], yv[L + l] = ci[l] + sr[l];
              }
              twiddle(yu, u, i), twiddle(yv, p - u, i);
            }
          }
        }
    }

    index m_ = 0;
    std::vector<Stage> stages_;
    AlignedArray<float> buf_[2];
    index max_generic_ = 0;         // largest radix without a specialised butterfly
    AlignedArray<float> scratch_;  // its sums and differences: [(p − 1) / 2][4][lanes]
  };

  // Radices in the order the stages use them: 4s, 2s, then odd primes ascending.
  static std::vector<index> factors(index m) {
    std::vector<index> f;
    index rest = m;
    while (rest % 4 == 0) f.push_back(4), rest /= 4;
    while (rest % 2 == 0) f.push_back(2), rest /= 2;
    for (index p = 3; p * p <= rest; p += 2)
      while (rest % p == 0) f.push_back(p), rest /= p;
    if (rest > 1) f.push_back(rest);
    return f;
  }

  // Work of a direct plan, in pocketfft's units: m · Σ radix (a generic radix a little more).
  static double cost_guess(index m) {
    double per_point = 0;
    for (index p : factors(m)) per_point += p <= 5 ? double(p) : 1.1 * double(p);
    return double(m) * per_point;
  }

  // pocketfft's choice, recalibrated: short lengths and those without a prime factor above
  // √m stay direct; otherwise Bluestein's two FFTs of M against the direct plan's cost. A
  // unit of Stockham work costs ~6 times a generic radix's paired multiply-add here (16
  // lanes, AVX-512; measured at primes 347 to 65521), so Bluestein starts near p = 500 and
  // is 70 times faster at 65521.
  static bool bluestein_pays(index m) {
    if (m < 50) return false;
    const index largest = factors(m).back();  // the factors ascend after the 4s and 2s
    if (largest * largest <= m) return false;
    constexpr double stockham_unit = 6.0;
    return 2.0 * stockham_unit * cost_guess(smooth_length_at_least(2 * m - 1)) < cost_guess(m);
  }

  // The smallest 2^a·3^b·5^c >= n.
  static index smooth_length_at_least(index n) {
    index best = index(1) << 62;
    for (index f5 = 1; f5 < best; f5 *= 5)
      for (index f35 = f5; f35 < best; f35 *= 3) {
        index f = f35;
        while (f < n) f *= 2;
        best = std::min(best, f);
      }
    return best;
  }

  // Bluestein: with w_k = exp(-iπk²/m), X_k = w_k Σ_j (z_j w_j) conj(w_{k-j}), a circular
  // convolution of length M once both sequences are zero-padded; its kernel's FFT (over 1/M,
  // the inverse FFT's scale) is made here, in lane 0 of the plan's own buffers.
  void plan_bluestein() {
    const index m = m_, M = fft_.size();
    chirp_.resize(std::size_t(2 * m));
    for (index k = 0; k < m; ++k) {
      // k² mod 2m keeps the angle exact in double for every k < 2^24.
      const auto k2 = static_cast<std::int64_t>(k) * k % (2 * static_cast<std::int64_t>(m));
      const double a = -std::numbers::pi * double(k2) / double(m);
      chirp_[std::size_t(2 * k)] = float(std::cos(a));
      chirp_[std::size_t(2 * k + 1)] = float(std::sin(a));
    }
    float* b = fft_.buffer(0);
    std::fill_n(b, 2 * M * lanes, 0.0f);
    for (index k = 0; k < m; ++k) {
      const float re = chirp_[std::size_t(2 * k)], im = -chirp_[std::size_t(2 * k + 1)];
      b[2 * k * lanes] = re, b[(2 * k + 1) * lanes] = im;
      if (k > 0) b[2 * (M - k) * lanes] = re, b[(2 * (M - k) + 1) * lanes] = im;
    }
    const float* spectrum = fft_.run(b, 1);
    kernel_.resize(std::size_t(2 * M));
    for (index k = 0; k < M; ++k) {
      kernel_[std::size_t(2 * k)] = spectrum[2 * k * lanes] / float(M);
      kernel_[std::size_t(2 * k + 1)] = spectrum[(2 * k + 1) * lanes] / float(M);
    }
  }

  const float* direct(const float* in) {
    if (even_) return fft_.run(in, 0);
    float* z = fft_.buffer(0);  // complex input with zero imaginary parts
    for (index j = 0; j < n_; ++j)
      for (index l = 0; l < lanes; ++l) z[(2 * j) * lanes + l] = in[j * lanes + l], z[(2 * j + 1) * lanes + l] = 0.0f;
    return fft_.run(z, 1);
  }

  // The inverse FFT as conj(FFT(conj(·))), so one forward plan does both directions.
  const float* bluestein(const float* in) {
    constexpr index L = lanes;
    const index m = m_, M = fft_.size();
    float* a = fft_.buffer(0);
    for (index k = 0; k < m; ++k) {
      const float wr = chirp_[std::size_t(2 * k)], wi = chirp_[std::size_t(2 * k + 1)];
      float* y = a + 2 * k * L;
      if (even_) {
        const float* x = in + 2 * k * L;
        for (index l = 0; l < L; ++l) {
          const float re = x[l], im = x[L + l];
          y[l] = re * wr - im * wi, y[L + l] = re * wi + im * wr;
        }
      } else {
        const float* x = in + k * L;
        for (index l = 0; l < L; ++l) y[l] = x[l] * wr, y[L + l] = x[l] * wi;
      }
    }
    std::fill(a + 2 * m * L, a + 2 * M * L, 0.0f);
    float* spectrum = fft_.run(a, 1);
    for (index k = 0; k < M; ++k) {
      const float kr = kernel_[std::size_t(2 * k)], ki = kernel_[std::size_t(2 * k + 1)];
      float* y = spectrum + 2 * k * L;
      for (index l = 0; l < L; ++l) {
        const float re = y[l], im = y[L + l];
        y[l] = re * kr - im * ki, y[L + l] = -(re * ki + im * kr);  // conj of the product
      }
    }
    float* z = fft_.run(spectrum, spectrum == fft_.buffer(0) ? 1 : 0);
    for (index k = 0; k < m; ++k) {  // conj(z_k) · w_k
      const float wr = chirp_[std::size_t(2 * k)], wi = chirp_[std::size_t(2 * k + 1)];
      float* y = z + 2 * k * L;
      for (index l = 0; l < L; ++l) {
        const float re = y[l], im = -y[L + l];
        y[l] = re * wr - im * wi, y[L + l] = re * wi + im * wr;
      }
    }
    return z;
  }

  // X_k = E_k + W^k O_k with E = (Z_k + conj Z_{m−k}) / 2, O = (Z_k − conj Z_{m−k}) / 2i.
  void post_process(const float* z, float* out) const {
    constexpr index L = lanes;
    for (index k = 0; k <= m_; ++k) {
      const float* a = z + 2 * (k % m_) * L;
      const float* b = z + 2 * ((m_ - k) % m_) * L;
      const float wr = post_[std::size_t(2 * k)], wi = post_[std::size_t(2 * k + 1)];
      float* y = out + 2 * k * L;
      for (index l = 0; l < L; ++l) {
        const float ar = a[l], ai = a[L + l], br = b[l], bi = b[L + l];
        const float er = 0.5f * (ar + br), ei = 0.5f * (ai - bi);
        const float orr = 0.5f * (ai + bi), oi = -0.5f * (ar - br);
        y[l] = er + wr * orr - wi * oi;
        y[L + l] = ei + wr * oi + wi * orr;
      }
    }
  }

  index n_, m_;
  bool even_;
  Stockham fft_;
  std::vector<float> post_;
  std::vector<float> chirp_;   // Bluestein: w_k as (cos, sin), k < m
  std::vector<float> kernel_;  // Bluestein: FFT(conj w, wrapped) / M
};

}  // namespace mmm
