#pragma once
// Element-wise and row-wise math over float arrays: the one place layers go for exp, tanh,
// sigmoid, GELU, softmax and layer norm. Vectorized with xsimd; `MathKernels<Arch>` holds
// every function for one instruction set, the free functions use the best one compiled in.
//
// Arrays: `y` may be `x` itself (in place) but must not otherwise overlap it; any n ≥ 0,
// any alignment. The last partial register goes through a small stack buffer, so tails are
// computed by the same code as the body.
//
// Accuracy, against the exact function of the float input (measured by tests/math over
// every float exponent, subnormals, ±0, ±inf, NaN and the overflow/underflow thresholds).
// Error is |y − f(x)| / max(|f(x)|, 2^-126): relative for normal results, absolute in units
// of the smallest normal for subnormal ones. ε = 2^-24 ≈ 5.96e-8.
//   exp        ≤ 2e-7   (overflows to inf above 88.7228, underflows through subnormals to 0)
//   log        ≤ 2e-7   (x < 0 and NaN → NaN, ±0 → −inf, inf → inf)
//   tanh       ≤ 3e-7
//   sigmoid    ≤ 3e-7   (e^{−|x|} form: stays accurate for x < −88, where 1/(1+e^{−x}) is 0)
//   erf        ≤ 3e-7
//   gelu       ≤ 4e-7   (accurate tail x/2·erfc(|x|/√2) down to the underflow at x ≈ −14)
//   gelu_tanh  ≤ 3e-7·(1 + κ(x)), κ = |x·f'(x)/f(x)| the condition number (u = √(2/π)(x +
//              0.044715x³) is formed in float; κ ≈ 230 at x = −10, ≤ 3 for x > −2)
//   silu       ≤ 3e-7
//   relu       exact (−0 and NaN kept, as torch.relu)
// Special values follow PyTorch: NaN in → NaN out; silu, gelu and gelu_tanh of −inf are NaN
// (their formula is −inf·0); ±inf elsewhere go to the limits.
//   softmax     ≤ (8 + |s·(x − max)| + log2 cols)·ε relative per element, s the scale
//               (x − max is rounded in float, as in PyTorch); a row with NaN or +inf, or
//               all −inf, is all NaN (as PyTorch).
//   log_softmax ≤ (8 + |x − max| + log2 cols)·ε·max(1, |y|) absolute.
//   layer_norm  ≤ 16ε·(1 + |x − mean|/σ)·|γ| + ε·|β| absolute, σ = √(var + eps): corrected
//               two-pass mean and variance in float with register-wide partial sums (biased
//               variance, as torch.nn.LayerNorm); a large row offset costs no accuracy.
//               Rows of ≤ register_row_cols (AVX-512: 256, AVX2: 64, SSE: 32) are read once
//               and both passes run over registers, with tree sums: same bound.
//   rms_norm    ≤ 16ε·(1 + |x|/rms)·|γ| absolute.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <tuple>
#include <type_traits>
#include <utility>

#include "mmm/core/tensor.hpp"
#include "mmm/kernels/activation.hpp"
#include "mmm/kernels/detail/math_simd.hpp"

// See detail/math_simd.hpp: GCC 12 flags _mm512_undefined_ps() inside the intrinsics.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace mmm::kernels {

template <class Arch = xsimd::default_arch>
struct MathKernels {
  using F = simd::Floats<Arch>;
  static constexpr index width = static_cast<index>(F::size);

  // The first k < width lanes of p, `fill` elsewhere; writing back only k lanes.
  static F load_partial(const float* p, index k, float fill) {
    return simd::detail::load_partial<Arch>(p, static_cast<std::size_t>(k), fill, Arch{});
  }
  static void store_partial(float* p, index k, const F& v) {
    simd::detail::store_partial<Arch>(p, static_cast<std::size_t>(k), v, Arch{});
  }

  // y[i] = fn(x[i]) register by register; the tail is one masked register.
  template <class Fn>
  static void map(const float* x, float* y, index n, Fn fn) {
    index i = 0;
    for (; i + 2 * width <= n; i += 2 * width) {
      const F a = F::load_unaligned(x + i);
      const F b = F::load_unaligned(x + i + width);
      fn(a).store_unaligned(y + i);
      fn(b).store_unaligned(y + i + width);
    }
    for (; i + width <= n; i += width) fn(F::load_unaligned(x + i)).store_unaligned(y + i);
    if (i < n) store_partial(y + i, n - i, fn(load_partial(x + i, n - i, 0.0f)));
  }

  // Binary form: y[i] = fn(a[i], b[i]).
  template <class Fn>
  static void zip(const float* a, const float* b, float* y, index n, Fn fn) {
    index i = 0;
    for (; i + width <= n; i += width)
      fn(F::load_unaligned(a + i), F::load_unaligned(b + i)).store_unaligned(y + i);
    if (i < n) store_partial(y + i, n - i, fn(load_partial(a + i, n - i, 0.0f), load_partial(b + i, n - i, 0.0f)));
  }

  static void exp(const float* x, float* y, index n) {
    map(x, y, n, [](const F& v) { return simd::exp<Arch>(v); });
  }
  static void log(const float* x, float* y, index n) {
    map(x, y, n, [](const F& v) { return simd::log<Arch>(v); });
  }
  static void tanh(const float* x, float* y, index n) {
    map(x, y, n, [](const F& v) { return simd::tanh<Arch>(v); });
  }
  static void sigmoid(const float* x, float* y, index n) {
    map(x, y, n, [](const F& v) { return simd::sigmoid<Arch>(v); });
  }
  static void erf(const float* x, float* y, index n) {
    map(x, y, n, [](const F& v) { return simd::erf<Arch>(v); });
  }
  static void gelu(const float* x, float* y, index n) {
    map(x, y, n, [](const F& v) { return simd::gelu<Arch>(v); });
  }
  static void gelu_tanh(const float* x, float* y, index n) {
    map(x, y, n, [](const F& v) { return simd::gelu_tanh<Arch>(v); });
  }
  static void silu(const float* x, float* y, index n) {
    map(x, y, n, [](const F& v) { return simd::silu<Arch>(v); });
  }
  static void relu(const float* x, float* y, index n) {
    map(x, y, n, [](const F& v) { return simd::relu<Arch>(v); });
  }

  static void apply(Activation a, const float* x, float* y, index n) {
    switch (a) {
      case Activation::none:
        if (x != y) std::copy_n(x, n, y);
        return;
      case Activation::relu: return relu(x, y, n);
      case Activation::gelu: return gelu(x, y, n);
      case Activation::gelu_tanh: return gelu_tanh(x, y, n);
      case Activation::silu: return silu(x, y, n);
      case Activation::sigmoid: return sigmoid(x, y, n);
      case Activation::tanh: return tanh(x, y, n);
    }
  }

  // y = a + b, y = a·b, y = s·x (element-wise; y may be a, b or x).
  static void add(const float* a, const float* b, float* y, index n) {
    zip(a, b, y, n, [](const F& u, const F& v) { return u + v; });
  }
  static void mul(const float* a, const float* b, float* y, index n) {
    zip(a, b, y, n, [](const F& u, const F& v) { return u * v; });
  }
  static void scale(const float* x, float s, float* y, index n) {
    const F sv(s);
    map(x, y, n, [sv](const F& v) { return v * sv; });
  }
  // y = x (no overlap), inline: for the short rows where a call to memmove costs more.
  static void copy(const float* x, float* y, index n) {
    map(x, y, n, [](const F& v) { return v; });
  }

  // Largest element (NaN if any is NaN); −inf for n = 0.
  static float reduce_max(const float* x, index n) {
    constexpr float neg_inf = -std::numeric_limits<float>::infinity();
    F m0(neg_inf), m1(neg_inf);
    xsimd::batch_bool<float, Arch> nan(false);
    index i = 0;
    for (; i + 2 * width <= n; i += 2 * width) {
      const F a = F::load_unaligned(x + i);
      const F b = F::load_unaligned(x + i + width);
      m0 = xsimd::max(m0, a);
      m1 = xsimd::max(m1, b);
      nan = nan || xsimd::isnan(a) || xsimd::isnan(b);
    }
    for (; i < n; i += width) {
      const F a = i + width <= n ? F::load_unaligned(x + i) : load_partial(x + i, n - i, neg_inf);
      m0 = xsimd::max(m0, a);
      nan = nan || xsimd::isnan(a);
    }
    if (xsimd::any(nan)) return std::numeric_limits<float>::quiet_NaN();
    return simd::detail::reduce_max<Arch>(xsimd::max(m0, m1), Arch{});
  }

  // Sum with register-wide partial sums (error ≈ n/width·ε rather than n·ε).
  static float reduce_sum(const float* x, index n) {
    F s0(0.0f), s1(0.0f);
    index i = 0;
    for (; i + 2 * width <= n; i += 2 * width) {
      s0 += F::load_unaligned(x + i);
      s1 += F::load_unaligned(x + i + width);
    }
    for (; i < n; i += width) s0 += i + width <= n ? F::load_unaligned(x + i) : load_partial(x + i, n - i, 0.0f);
    return xsimd::hadd(s0 + s1);
  }

  // Row-wise softmax(scale·x) over `cols`, max-subtracted so that large logits do not
  // overflow; scale > 0 (attention's 1/√d folded into the exponent).
  static void softmax(const float* x, float* y, index rows, index cols, float scale = 1.0f) {
    if (cols <= 0) return;
    for (index r = 0; r < rows; ++r) softmax_row(x + r * cols, y + r * cols, cols, scale);
  }

  // Row r of softmax(scale·x) over its first lengths[r] columns only, the others set to 0:
  // what attention with a key-padding or causal mask computes, without the −inf fill.
  // A length of 0 gives a row of NaN, as PyTorch's softmax of an all-masked (−inf) row.
  static void softmax_prefix(const float* x, float* y, index rows, index cols, float scale,
                             const index* lengths) {
    for (index r = 0; r < rows; ++r) {
      const index n = std::clamp<index>(lengths[r], 0, cols);
      float* yr = y + r * cols;
      if (n == 0) {
        std::fill_n(yr, cols, std::numeric_limits<float>::quiet_NaN());
      } else {
        softmax_row(x + r * cols, yr, n, scale);
        std::fill(yr + n, yr + cols, 0.0f);
      }
    }
  }

  // Row-wise log(softmax(x)) = (x − max) − log Σ e^{x − max}.
  static void log_softmax(const float* x, float* y, index rows, index cols) {
    if (cols <= 0) return;
    for (index r = 0; r < rows; ++r) {
      const float* xr = x + r * cols;
      float* yr = y + r * cols;
      const float m = reduce_max(xr, cols);
      const float sum = exp_shifted(xr, nullptr, cols, m, 1.0f, false);
      const F log_sum(std::log(sum));
      const F mv(m);
      map(xr, yr, cols, [mv, log_sum](const F& v) { return (v - mv) - log_sum; });
    }
  }

  // y = (x − mean)/√(var + eps)·gamma + beta over each row (biased variance, as
  // torch.nn.LayerNorm); gamma/beta may be null. Corrected two-pass: c = Σx/n in float,
  // then d = Σ(x − c)/n and var = Σ(x − c)²/n − d², and y uses (x − c) − d, so the mean is
  // never rounded to a float next to |mean|/σ·ε (rows with a large offset stay accurate).
  // Rows of at most `register_row_cols` are read once into registers and normalized from
  // there (the same two passes, over registers instead of memory); longer rows stream.
  static void layer_norm(const float* x, float* y, index rows, index cols, const float* gamma,
                         const float* beta, float eps) {
    if (cols <= 0) return;
    if (cols <= register_row_cols)
      return with_row_registers(cols, [&](auto nv) { norm_in_registers<decltype(nv)::value, true>(x, y, rows, cols, gamma, beta, eps); });
    const float inv_n = 1.0f / static_cast<float>(cols);
    for (index r = 0; r < rows; ++r) {
      const float* xr = x + r * cols;
      float* yr = y + r * cols;
      const float c = reduce_sum(xr, cols) * inv_n;
      const auto [dev, dev_sq] = deviations(xr, cols, c);
      const float d = dev * inv_n;
      const float var = std::max(dev_sq * inv_n - d * d, 0.0f);
      normalize(xr, yr, cols, c, d, 1.0f / std::sqrt(var + eps), gamma, beta);
    }
  }

  // y = x/√(mean(x²) + eps)·gamma over each row (RMSNorm, as torch.nn.RMSNorm); gamma may be null.
  static void rms_norm(const float* x, float* y, index rows, index cols, const float* gamma, float eps) {
    if (cols <= 0) return;
    if (cols <= register_row_cols)
      return with_row_registers(cols, [&](auto nv) { norm_in_registers<decltype(nv)::value, false>(x, y, rows, cols, gamma, nullptr, eps); });
    for (index r = 0; r < rows; ++r) {
      const float* xr = x + r * cols;
      float* yr = y + r * cols;
      const float ms = deviations(xr, cols, 0.0f).second / static_cast<float>(cols);
      normalize(xr, yr, cols, 0.0f, 0.0f, 1.0f / std::sqrt(ms + eps), gamma, nullptr);
    }
  }

  // Registers a row may take in layer_norm/rms_norm's one-read path: half the register file
  // (AVX-512 has 32, AVX2/SSE 16), the rest for sums, squares, gamma and beta.
  static constexpr index register_row_vectors = std::is_base_of_v<xsimd::avx512f, Arch> ? 16 : 8;
  static constexpr index register_row_cols = register_row_vectors * width;

 private:
  // fn(std::integral_constant<index, nv>) for nv = ⌈cols/width⌉ ≤ register_row_vectors.
  template <class Fn>
  static void with_row_registers(index cols, Fn&& fn) {
    const index nv = (cols + width - 1) / width;
    [&]<index... N>(std::integer_sequence<index, N...>) {
      (void)((nv == N + 1 && (fn(std::integral_constant<index, N + 1>{}), true)) || ...);
    }(std::make_integer_sequence<index, register_row_vectors>{});
  }

  // v[Lo] + … + v[Lo + N − 1] as a balanced tree.
  template <index Lo, index N>
  static F tree_sum(const F* v) {
    if constexpr (N == 1)
      return v[Lo];
    else
      return tree_sum<Lo, N / 2>(v) + tree_sum<Lo + N / 2, N - N / 2>(v);
  }

  // Σ lanes of each of the R registers, in every lane (R = 1 or 2).
  template <index R>
  static void sum_rows(const F* v, F* out) {
    if constexpr (R == 1) {
      out[0] = simd::detail::sum_lanes<Arch>(v[0], Arch{});
    } else {
      static_assert(R == 2);
      std::tie(out[0], out[1]) = simd::detail::sum_lanes2<Arch>(v[0], v[1], Arch{});
    }
  }

  // layer_norm (Centre) or rms_norm over rows of NV registers, the last holding 1..width
  // columns: one read and one write per element; the sums are the corrected two-pass ones
  // of the streaming path, taken over registers. Short rows go two at a time (their
  // horizontal sums share shuffles, and two independent chains overlap).
  template <index NV, bool Centre>
  static void norm_in_registers(const float* x, float* y, index rows, index cols, const float* gamma,
                                const float* beta, float eps) {
    constexpr index pair_max = std::is_base_of_v<xsimd::avx512f, Arch> ? 6 : 3;  // 4·NV registers
    index r = 0;
    if constexpr (NV <= pair_max)
      for (; r + 2 <= rows; r += 2) norm_rows<NV, Centre, 2>(x + r * cols, y + r * cols, cols, gamma, beta, eps);
    for (; r < rows; ++r) norm_rows<NV, Centre, 1>(x + r * cols, y + r * cols, cols, gamma, beta, eps);
  }

  // Rows x, x + cols, … (R of them) of NV registers each, normalized into y likewise.
  template <index NV, bool Centre, index R>
  [[gnu::always_inline]] static void norm_rows(const float* x, float* y, index cols, const float* gamma,
                                               const float* beta, float eps) {
    static_assert(width <= 16);
    constexpr index last = (NV - 1) * width;
    const index tail = cols - last;
    alignas(64) static constexpr float lane[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    const auto in_row = F::load_aligned(lane) < F(static_cast<float>(tail));
    const F inv_n(1.0f / static_cast<float>(cols));
    auto load = [tail](const float* p, index j, float fill) {
      return j + 1 < NV || tail == width ? F::load_unaligned(p + j * width) : load_partial(p + last, tail, fill);
    };
    // Every loop below has a compile-time trip count and is fully unrolled, so the arrays
    // live in registers.
    F v[R][NV], sq[R][NV], t[R], u[R], shift[R], var[R];
#pragma GCC unroll 16
    for (index q = 0; q < R; ++q)
#pragma GCC unroll 16
      for (index j = 0; j < NV; ++j) v[q][j] = load(x + q * cols, j, 0.0f);
    if constexpr (Centre) {
#pragma GCC unroll 16
      for (index q = 0; q < R; ++q) t[q] = tree_sum<0, NV>(v[q]);
      sum_rows<R>(t, u);
#pragma GCC unroll 16
      for (index q = 0; q < R; ++q) {
        const F c = u[q] * inv_n;
#pragma GCC unroll 16
        for (index j = 0; j < NV; ++j) v[q][j] -= c;
        v[q][NV - 1] = xsimd::select(in_row, v[q][NV - 1], F(0.0f));
        t[q] = tree_sum<0, NV>(v[q]);
      }
      sum_rows<R>(t, u);
#pragma GCC unroll 16
      for (index q = 0; q < R; ++q) {
        shift[q] = u[q] * inv_n;
#pragma GCC unroll 16
        for (index j = 0; j < NV; ++j) sq[q][j] = v[q][j] * v[q][j];
        t[q] = tree_sum<0, NV>(sq[q]);
      }
      sum_rows<R>(t, u);
#pragma GCC unroll 16
      for (index q = 0; q < R; ++q) var[q] = xsimd::max(u[q] * inv_n - shift[q] * shift[q], F(0.0f));
    } else {
#pragma GCC unroll 16
      for (index q = 0; q < R; ++q) {
        shift[q] = F(0.0f);
#pragma GCC unroll 16
        for (index j = 0; j < NV; ++j) sq[q][j] = v[q][j] * v[q][j];
        t[q] = tree_sum<0, NV>(sq[q]);
      }
      sum_rows<R>(t, u);
#pragma GCC unroll 16
      for (index q = 0; q < R; ++q) var[q] = u[q] * inv_n;
    }
#pragma GCC unroll 16
    for (index q = 0; q < R; ++q) {
      const F s = F(1.0f) / xsimd::sqrt(var[q] + F(eps));
#pragma GCC unroll 16
      for (index j = 0; j < NV; ++j) {
        F w = Centre ? (v[q][j] - shift[q]) * s : v[q][j] * s;
        if (gamma && beta)
          w = xsimd::fma(w, load(gamma, j, 1.0f), load(beta, j, 0.0f));  // one rounding where y ≈ 0
        else if (gamma)
          w *= load(gamma, j, 1.0f);
        else if (beta)
          w += load(beta, j, 0.0f);
        if (j + 1 < NV || tail == width)
          w.store_unaligned(y + q * cols + j * width);
        else
          store_partial(y + q * cols + last, tail, w);
      }
    }
  }

  static void softmax_row(const float* x, float* y, index n, float scale) {
    const float m = reduce_max(x, n);
    const F inv(1.0f / exp_shifted(x, y, n, m, scale, true));
    map(y, y, n, [inv](const F& v) { return v * inv; });
  }

  // Σ e^{scale·(x − m)}, storing the terms in y when `store`; the tail is padded with −inf
  // (whose term is 0).
  static float exp_shifted(const float* x, float* y, index n, float m, float scale, bool store) {
    const F mv(m), sv(scale);
    F s0(0.0f), s1(0.0f);
    index i = 0;
    for (; i + 2 * width <= n; i += 2 * width) {
      const F a = simd::exp<Arch>((F::load_unaligned(x + i) - mv) * sv);
      const F b = simd::exp<Arch>((F::load_unaligned(x + i + width) - mv) * sv);
      s0 += a;
      s1 += b;
      if (store) {
        a.store_unaligned(y + i);
        b.store_unaligned(y + i + width);
      }
    }
    for (; i < n; i += width) {
      const index k = std::min(width, n - i);
      const F in = k == width ? F::load_unaligned(x + i) : load_partial(x + i, k, -std::numeric_limits<float>::infinity());
      const F a = simd::exp<Arch>((in - mv) * sv);
      s0 += a;
      if (store) store_partial_or_full(y + i, k, a);
    }
    return xsimd::hadd(s0 + s1);
  }

  // {Σ (x − c), Σ (x − c)²}.
  static std::pair<float, float> deviations(const float* x, index n, float c) {
    const F cv(c);
    F s0(0.0f), s1(0.0f), q0(0.0f), q1(0.0f);
    index i = 0;
    for (; i + 2 * width <= n; i += 2 * width) {
      const F a = F::load_unaligned(x + i) - cv;
      const F b = F::load_unaligned(x + i + width) - cv;
      s0 += a;
      s1 += b;
      q0 = xsimd::fma(a, a, q0);
      q1 = xsimd::fma(b, b, q1);
    }
    for (; i < n; i += width) {
      const F a = (i + width <= n ? F::load_unaligned(x + i) : load_partial(x + i, n - i, c)) - cv;
      s0 += a;
      q0 = xsimd::fma(a, a, q0);
    }
    return {xsimd::hadd(s0 + s1), xsimd::hadd(q0 + q1)};
  }

  static void store_partial_or_full(float* p, index k, const F& v) {
    if (k == width)
      v.store_unaligned(p);
    else
      store_partial(p, k, v);
  }

  // y = ((x − c) − d)·s·gamma + beta.
  static void normalize(const float* x, float* y, index n, float c, float d, float s, const float* gamma,
                        const float* beta) {
    const F cv(c), dv(d), sv(s);
    for (index i = 0; i < n; i += width) {
      const index k = std::min(width, n - i);
      auto load = [k](const float* p, float fill) { return k == width ? F::load_unaligned(p) : load_partial(p, k, fill); };
      F v = ((load(x + i, c) - cv) - dv) * sv;
      if (gamma && beta)
        v = xsimd::fma(v, load(gamma + i, 1.0f), load(beta + i, 0.0f));  // one rounding where y ≈ 0
      else if (gamma)
        v *= load(gamma + i, 1.0f);
      else if (beta)
        v += load(beta + i, 0.0f);
      store_partial_or_full(y + i, k, v);
    }
  }
};

// The public API, on the widest instruction set this translation unit was compiled for.
using Math = MathKernels<>;

inline void exp(const float* x, float* y, index n) { Math::exp(x, y, n); }
inline void log(const float* x, float* y, index n) { Math::log(x, y, n); }
inline void tanh(const float* x, float* y, index n) { Math::tanh(x, y, n); }
inline void sigmoid(const float* x, float* y, index n) { Math::sigmoid(x, y, n); }
inline void erf(const float* x, float* y, index n) { Math::erf(x, y, n); }
// Exact GELU: x·Φ(x) = x/2·(1 + erf(x/√2)), PyTorch's approximate='none'.
inline void gelu(const float* x, float* y, index n) { Math::gelu(x, y, n); }
// PyTorch's approximate='tanh': x/2·(1 + tanh(√(2/π)·(x + 0.044715x³))).
inline void gelu_tanh(const float* x, float* y, index n) { Math::gelu_tanh(x, y, n); }
inline void silu(const float* x, float* y, index n) { Math::silu(x, y, n); }
// x > 0 ? x : 0, keeping NaN as NaN like torch.relu.
inline void relu(const float* x, float* y, index n) { Math::relu(x, y, n); }
inline void apply(Activation a, const float* x, float* y, index n) { Math::apply(a, x, y, n); }

inline void add(const float* a, const float* b, float* y, index n) { Math::add(a, b, y, n); }
inline void mul(const float* a, const float* b, float* y, index n) { Math::mul(a, b, y, n); }
inline void scale(const float* x, float s, float* y, index n) { Math::scale(x, s, y, n); }
inline void copy(const float* x, float* y, index n) { Math::copy(x, y, n); }
inline float reduce_max(const float* x, index n) { return Math::reduce_max(x, n); }
inline float reduce_sum(const float* x, index n) { return Math::reduce_sum(x, n); }

// Row-wise softmax over `cols`, max-subtracted so that large logits do not overflow.
inline void softmax(const float* x, float* y, index rows, index cols) { Math::softmax(x, y, rows, cols); }
// softmax(scale·x) row-wise, scale > 0 (attention scores with 1/√d folded in).
inline void scaled_softmax(const float* x, float* y, index rows, index cols, float scale) {
  Math::softmax(x, y, rows, cols, scale);
}
inline void log_softmax(const float* x, float* y, index rows, index cols) { Math::log_softmax(x, y, rows, cols); }
// softmax(scale·x) of row r over its first lengths[r] columns, zeros after (padding and
// causal masks); length 0 gives NaN as PyTorch does for an all-masked row.
inline void softmax_prefix(const float* x, float* y, index rows, index cols, float scale, const index* lengths) {
  Math::softmax_prefix(x, y, rows, cols, scale, lengths);
}

// y = (x - mean) / sqrt(var + eps) * gamma + beta over each row; gamma/beta may be null.
inline void layer_norm(const float* x, float* y, index rows, index cols, const float* gamma, const float* beta,
                       float eps) {
  Math::layer_norm(x, y, rows, cols, gamma, beta, eps);
}
inline void rms_norm(const float* x, float* y, index rows, index cols, const float* gamma, float eps) {
  Math::rms_norm(x, y, rows, cols, gamma, eps);
}

}  // namespace mmm::kernels

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
