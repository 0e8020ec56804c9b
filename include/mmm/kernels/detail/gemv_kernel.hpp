#pragma once
// The loop of kernels::gemv (kernels/gemm.hpp), which kernels::gemm runs for one row: one
// row times B's packed panels, streamed front to back (see gemv for why it is so plain).

#include <algorithm>

#include "mmm/core/tensor.hpp"
#include "mmm/core/threading.hpp"
#include "mmm/kernels/detail/gemm_driver.hpp"

namespace mmm::kernels {

namespace detail {

// Panels [p0, p1) of y = epilogue(x · B), B's panels k×NR at packed + p·k·NR.
template <class Arch>
void gemv_panels(const float* __restrict x, const float* __restrict packed, index n, index k, index p0, index p1,
                 float* __restrict y, const ProductEpilogue& ep) {
  using S = Simd<Arch>;
  using V = typename S::V;
  constexpr int NV = KernelTraits<Arch>::nv;
  constexpr int W = S::width;
  constexpr int NR = NV * W;
  constexpr int sets = 4;
  const V alpha = S::set1(ep.alpha);
  for (index p = p0; p < p1; ++p) {
    const float* b = packed + p * k * NR;
    V acc[sets][NV];
#pragma GCC unroll 4
    for (int s = 0; s < sets; ++s)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[s][v] = S::zero();
    index d = 0;
    for (; d + sets <= k; d += sets) {
#pragma GCC unroll 4
      for (int s = 0; s < sets; ++s) {
        const V xv = S::set1(x[d + s]);
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) acc[s][v] = S::fma(xv, S::load(b + (d + s) * NR + v * W), acc[s][v]);
      }
    }
    for (; d < k; ++d) {
      const V xv = S::set1(x[d]);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[0][v] = S::fma(xv, S::load(b + d * NR + v * W), acc[0][v]);
    }
    const index col0 = p * NR, cols = std::min<index>(NR, n - col0);
    float* yc = y + col0;
    if (cols == NR) {
      // The micro-kernel's epilogue, in its order.
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) {
        V sum = acc[0][v];
#pragma GCC unroll 4
        for (int s = 1; s < sets; ++s) sum = sum + acc[s][v];
        V out = sum * alpha;
        if (ep.bias) out = out + S::load(ep.bias + col0 + v * W);
        if (ep.residual) out = out + S::load(ep.residual + col0 + v * W);
        S::store(yc + v * W, out);
      }
      if (ep.activation != Activation::none) apply(ep.activation, yc, yc, NR);
    } else {
      // The last, partial panel: through a buffer and merge_tile, as the GEMM's.
      alignas(64) float sums[NR];
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) {
        V sum = acc[0][v];
#pragma GCC unroll 4
        for (int s = 1; s < sets; ++s) sum = sum + acc[s][v];
        S::store(sums + v * W, sum);
      }
      const TileEpilogue te{ep.alpha, ep.bias ? ep.bias + col0 : nullptr, ep.residual ? ep.residual + col0 : nullptr, 0,
                            ep.activation, true, true};
      merge_tile(1, cols, sums, NR, yc, 0, te);
    }
  }
}

// y[n] = epilogue(x · B) over every panel, split between threads when B is a megabyte or
// more (bandwidth is what a second core adds).
inline void gemv_run(const float* x, const float* packed, index n, index k, float* y, const ProductEpilogue& ep) {
  constexpr index NR = KernelTraits<kernel_arch>::nr;
  if (n <= 0) return;
  const index panels = (n + NR - 1) / NR;
  const bool streams = static_cast<double>(n) * static_cast<double>(k) * sizeof(float) >= (1 << 20);
  if (!streams || num_threads() <= 1) {
    gemv_panels<kernel_arch>(x, packed, n, k, 0, panels, y, ep);
    return;
  }
  parallel_for(panels, std::max<index>(1, panels / num_threads()),
               [&](index p0, index p1) { gemv_panels<kernel_arch>(x, packed, n, k, p0, p1, y, ep); });
}

}  // namespace detail

}  // namespace mmm::kernels
