#pragma once
// GEMM micro-kernels and packing, one set per instruction set.
//
// The layout follows BLIS/MLAS: B is cut into column panels NR wide, stored k-major
// (panel p holds B[k][p·NR + j] at [k·NR + j], zero-padded past n); A is cut into row
// panels of at most MR rows that the kernel reads row by row at a stride: a row-major A
// in place, or packed (a memcpy per row) at a_stride when its own stride would crowd the
// rows into too few cache sets. The micro-kernel keeps an MR×NR tile
// of C in registers (MR·NV vector accumulators), and per k loads NV vectors of B and
// broadcasts MR scalars of A. Everything is a template on the xsimd architecture so that
// each path (AVX-512, AVX2+FMA, SSE2, NEON, plain scalar) can be instantiated and tested
// on any machine that runs it, while gemm.hpp picks the best one the compiler targets.

#include <algorithm>
#include <cstring>
#include <type_traits>

#include <xsimd/xsimd.hpp>

#include "mmm/core/tensor.hpp"
#include "mmm/kernels/activation.hpp"
#include "mmm/kernels/math.hpp"

#if defined(__AVX512F__) || defined(__FMA__)
#include <immintrin.h>
#endif

namespace mmm::kernels::detail {

// The portable fallback: one float per "vector". Compiles everywhere, even where xsimd
// knows no instruction set.
struct scalar_arch {};

// Vector operations the kernels need, over an xsimd batch (or a plain float).
template <class Arch>
struct Simd {
  using V = xsimd::batch<float, Arch>;
  static constexpr int width = static_cast<int>(V::size);
  static V load(const float* p) { return V::load_unaligned(p); }
  static void store(float* p, V v) { v.store_unaligned(p); }
  static V set1(float x) { return V(x); }
  static V zero() { return V(0.0f); }
  // xsimd 8.1 spells fma as x*y+z for AVX-512, which only fuses under -ffp-contract=fast.
  static V fma(V a, V b, V c) {
#if defined(__AVX512F__)
    if constexpr (std::is_base_of_v<xsimd::avx512f, Arch>) return V(_mm512_fmadd_ps(a, b, c));
#endif
#if defined(__FMA__)
    if constexpr (std::is_base_of_v<xsimd::avx, Arch>) return V(_mm256_fmadd_ps(a, b, c));
#endif
    return xsimd::fma(a, b, c);
  }
};

template <>
struct Simd<scalar_arch> {
  using V = float;
  static constexpr int width = 1;
  static V load(const float* p) { return *p; }
  static void store(float* p, V v) { *p = v; }
  static V set1(float x) { return x; }
  static V zero() { return 0.0f; }
  static V fma(V a, V b, V c) { return a * b + c; }
};

// Tile shape per architecture: MR rows by NV vectors; MR·NV accumulators plus NV loads
// and a broadcast must fit the register file (32 zmm; 16 ymm/xmm).
template <class Arch>
struct TileShape {
  static constexpr int mr = 6, nv = 2;
};
#if XSIMD_WITH_AVX512F
template <>
struct TileShape<xsimd::avx512f> {
  static constexpr int mr = 14, nv = 2;  // 28 accumulators, 2 B vectors, 1 broadcast
};
#endif
template <>
struct TileShape<scalar_arch> {
  static constexpr int mr = 4, nv = 4;
};

template <class Arch>
struct KernelTraits {
  static constexpr int mr = TileShape<Arch>::mr;
  static constexpr int nv = TileShape<Arch>::nv;
  static constexpr int width = Simd<Arch>::width;
  static constexpr int nr = nv * width;
  // Row stride of a packed A panel, and so (less the padding) the largest depth block. The
  // 16-float padding puts a panel's rows in different L1 sets; at 4 KB apart they would
  // share one (~2% at 1024³–2048³).
  static constexpr index a_stride = 1024 + 16;
};

// Whether the kernel takes A's row stride at run time, and so can read a row-major A in
// place. GCC addresses the MR rows at a run-time stride as well as at a constant one;
// clang 14 keeps each row's offset in a register of its own and spills them (the kernel
// runs at half speed), so under clang A is always packed, at the constant a_stride.
// Clang 14 also compiles the loop with prefetch hints (TilePrefetch) into one 20–50%
// slower than the plain loop, more than the hints gain, so it runs without them.
#if defined(__clang__)
inline constexpr bool a_stride_at_run_time = false;
inline constexpr bool use_prefetch_hints = false;
#else
inline constexpr bool a_stride_at_run_time = true;
inline constexpr bool use_prefetch_hints = true;
#endif

// What the micro-kernel does with its finished tile. The K dimension is split into
// blocks; the first block writes C = alpha·acc + bias + residual, later blocks add
// alpha·acc to C, and the last one also applies the activation. Since alpha distributes
// over the sum this equals the one-shot epilogue, and a residual aliasing C is read once,
// before C is first written.
struct TileEpilogue {
  float alpha = 1.0f;
  const float* bias = nullptr;      // at this tile's first column
  const float* residual = nullptr;  // at this tile's first element
  index ld_residual = 0;
  Activation activation = Activation::none;
  bool first = true;
  bool last = true;
};

// Merges an accumulated tile (rows × cols at acc, leading dimension ld_acc) into C.
inline void merge_tile(index rows, index cols, const float* acc, index ld_acc, float* c, index ldc,
                       const TileEpilogue& te) {
  for (index i = 0; i < rows; ++i) {
    const float* s = acc + i * ld_acc;
    float* d = c + i * ldc;
    if (te.first) {
      const float* r = te.residual ? te.residual + i * te.ld_residual : nullptr;
      for (index j = 0; j < cols; ++j) {
        float x = te.alpha * s[j];
        if (te.bias) x += te.bias[j];
        if (r) x += r[j];
        d[j] = x;
      }
    } else {
      for (index j = 0; j < cols; ++j) d[j] += te.alpha * s[j];
    }
    if (te.last && te.activation != Activation::none) apply(te.activation, d, d, cols);
  }
}

// Prefetch hints: what the caller reads next, fetched while a tile computes.
// a: the next A panel (row stride lda), one column of its lines every 16 k-steps, so that
//    the next row panel does not begin by waiting on L3 with MR streams at once;
// b: the next B panel (kc×NR), into L2, a k-row per k-step, so that weights streaming
//    from memory (a Linear layer on a few rows) arrive before they are needed.
struct TilePrefetch {
  const float* a = nullptr;
  index a_rows = 0;  // rows of that panel
  const float* b = nullptr;
};

// Floats in a 64-byte cache line: the step of the prefetch loops.
inline constexpr int line_floats = 16;

// C tile (MR×NR) from an A panel (MR rows of kc, row stride lda) and a packed B panel
// (kc×NR, k-major).
// Rows with small MR interleave several k-steps into separate accumulators so that
// enough independent FMA chains hide the FMA latency.
template <class Arch, int MR>
inline void micro_kernel(index kc, const float* __restrict a, const float* __restrict b, float* __restrict c,
                         index ldc, const TileEpilogue& te, index a_ld, TilePrefetch next) {
  using S = Simd<Arch>;
  using V = typename S::V;
  constexpr int NV = KernelTraits<Arch>::nv;
  constexpr int W = S::width;
  constexpr int NR = NV * W;
  const index lda = a_stride_at_run_time ? a_ld : KernelTraits<Arch>::a_stride;
  constexpr int sets = MR >= 4 ? 1 : (MR == 1 ? 4 : 2);
  V acc[sets][MR][NV];
#pragma GCC unroll 4
  for (int s = 0; s < sets; ++s)
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[s][i][v] = S::zero();

  // C is read (or written) once the loop is done: start fetching its lines now.
  for (int i = 0; i < MR; ++i) {
    __builtin_prefetch(c + i * ldc, 1);
    __builtin_prefetch(c + i * ldc + NR - 1, 1);
  }
  index k = 0;
  if constexpr (sets > 1) {
    // A few rows do little with each line of B (usually weights coming from L3 or memory)
    // but stream it: fetching 16 k-steps ahead keeps more of it in flight (one core,
    // M = 1: +6% for 768×768 weights, +10–15% for 1024×1024 to 4096×1024), running on
    // into the next panel when the caller names it (next.b); next.a is not used here.
    constexpr index ahead = 16;
    for (; k + sets <= kc; k += sets) {
      if (use_prefetch_hints) {
        const float* p = k + ahead + sets <= kc ? b + (k + ahead) * NR
                         : next.b && k + ahead - kc + sets <= kc ? next.b + (k + ahead - kc) * NR
                                                                  : nullptr;
        if (p)
          for (int j = 0; j < sets * NR; j += line_floats) __builtin_prefetch(p + j, 0, 3);
      }
#pragma GCC unroll 4
      for (int s = 0; s < sets; ++s) {
        V bv[NV];
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) bv[v] = S::load(b + (k + s) * NR + v * W);
#pragma GCC unroll 16
        for (int i = 0; i < MR; ++i) {
          const V av = S::set1(a[i * lda + k + s]);
#pragma GCC unroll 4
          for (int v = 0; v < NV; ++v) acc[s][i][v] = S::fma(av, bv[v], acc[s][i][v]);
        }
      }
    }
  }
  auto step = [&](index k) __attribute__((always_inline)) {
    V bv[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) bv[v] = S::load(b + k * NR + v * W);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      const V av = S::set1(a[i * lda + k]);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[0][i][v] = S::fma(av, bv[v], acc[0][i][v]);
    }
  };
  if (use_prefetch_hints && (next.a || next.b)) {
    // The hints cost load slots: only the tiles that have something to fetch pay them.
    for (; k < kc; k += line_floats) {
      if (next.a)
        for (index i = 0; i < next.a_rows; ++i) __builtin_prefetch(next.a + i * lda + k, 0, 3);
      const index strip_end = std::min<index>(kc, k + line_floats);
#pragma GCC unroll 2
      for (index kk = k; kk < strip_end; ++kk) {
        if (next.b)
          for (int j = 0; j < NR; j += line_floats) __builtin_prefetch(next.b + kk * NR + j, 0, 1);
        step(kk);
      }
    }
  } else {
#pragma GCC unroll 2
    for (; k < kc; ++k) step(k);
  }
  if constexpr (sets > 1) {
#pragma GCC unroll 4
    for (int s = 1; s < sets; ++s)
#pragma GCC unroll 16
      for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) acc[0][i][v] = acc[0][i][v] + acc[s][i][v];
  }

  const V alpha = S::set1(te.alpha);
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) {
    float* ci = c + i * ldc;
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      V x = acc[0][i][v] * alpha;
      if (te.first) {
        if (te.bias) x = x + S::load(te.bias + v * W);
        if (te.residual) x = x + S::load(te.residual + i * te.ld_residual + v * W);
      } else {
        x = x + S::load(ci + v * W);
      }
      S::store(ci + v * W, x);
    }
  }
  if (te.last && te.activation != Activation::none)
    for (int i = 0; i < MR; ++i) apply(te.activation, c + i * ldc, c + i * ldc, NR);
}

// Runs the micro-kernel for a tile of `rows` ≤ MR rows and `cols` ≤ NR columns; partial
// tiles go through a register-sized buffer so that the kernel never writes past C.
template <class Arch, int MR>
inline void tile_rows(index kc, const float* a, index lda, const float* b, float* c, index ldc, index cols,
                      const TileEpilogue& te, TilePrefetch next) {
  constexpr int NR = KernelTraits<Arch>::nr;
  if (cols == NR) {
    micro_kernel<Arch, MR>(kc, a, b, c, ldc, te, lda, next);
  } else {
    alignas(64) float tmp[MR * NR];
    micro_kernel<Arch, MR>(kc, a, b, tmp, NR, TileEpilogue{1.0f, nullptr, nullptr, 0, Activation::none, true, false},
                           lda, next);
    merge_tile(MR, cols, tmp, NR, c, ldc, te);
  }
}

template <class Arch, int... Rows>
inline void tile_dispatch(std::integer_sequence<int, Rows...>, index rows, index kc, const float* a, index lda,
                          const float* b, float* c, index ldc, index cols, const TileEpilogue& te, TilePrefetch next) {
  // rows is in [1, MR]; exactly one Rows+1 matches.
  (void)((rows == Rows + 1 ? (tile_rows<Arch, Rows + 1>(kc, a, lda, b, c, ldc, cols, te, next), true) : false) || ...);
}

template <class Arch>
inline void tile(index rows, index kc, const float* a, index lda, const float* b, float* c, index ldc, index cols,
                 const TileEpilogue& te, TilePrefetch next = {}) {
  tile_dispatch<Arch>(std::make_integer_sequence<int, KernelTraits<Arch>::mr>{}, rows, kc, a, lda, b, c, ldc, cols, te,
                      next);
}

// ---- packing ----------------------------------------------------------------------------

// A panel: rows [0, rows) × k [0, kc) of op(A) into dst[i·stride + k].
// trans = false: A is row-major m×k (element (i,k) at a[i·lda + k]), so each row is one
// copy; true: stored k×m, a transposition.
inline void pack_a(bool trans, index rows, index kc, const float* a, index lda, float* __restrict dst,
                   index stride) {
  if (!trans) {
    for (index i = 0; i < rows; ++i)
      std::memcpy(dst + i * stride, a + i * lda, static_cast<std::size_t>(kc) * sizeof(float));
    return;
  }
  for (index k = 0; k < kc; ++k) {
    const float* src = a + k * lda;
    for (index i = 0; i < rows; ++i) dst[i * stride + k] = src[i];
  }
}

// B block: k [0, kc) × columns [0, cols) of op(B) into panels of NR (zero-padded), each
// panel kc×NR contiguous at dst + p·panel_stride.
// trans = false: B is row-major k×n (element (k,j) at b[k·ldb + j]); true: stored n×k.
template <class Arch>
inline void pack_b(bool trans, index kc, index cols, const float* b, index ldb, float* __restrict dst,
                   index panel_stride) {
  constexpr index NR = KernelTraits<Arch>::nr;
  if (!trans) {
    // Row by row: each source row is read once, front to back, into every panel (~1% at
    // 256³ over panel by panel, where each row is a new stride for the prefetcher).
    const index full = cols / NR, w = cols - full * NR;
    for (index k = 0; k < kc; ++k) {
      const float* src = b + k * ldb;
      float* d = dst + k * NR;
      for (index p = 0; p < full; ++p) std::memcpy(d + p * panel_stride, src + p * NR, NR * sizeof(float));
      if (w > 0) {
        std::memcpy(d + full * panel_stride, src + full * NR, static_cast<std::size_t>(w) * sizeof(float));
        std::fill(d + full * panel_stride + w, d + full * panel_stride + NR, 0.0f);
      }
    }
    return;
  }
  // Transposed: in strips of k so that the NR source rows stay in L1.
  constexpr index strip = 16;
  for (index j0 = 0, p = 0; j0 < cols; j0 += NR, ++p) {
    const index w = std::min<index>(NR, cols - j0);
    float* d = dst + p * panel_stride;
    for (index k0 = 0; k0 < kc; k0 += strip) {
      const index k1 = std::min(kc, k0 + strip);
      for (index j = 0; j < w; ++j) {
        const float* src = b + (j0 + j) * ldb;
        for (index k = k0; k < k1; ++k) d[k * NR + j] = src[k];
      }
      for (index j = w; j < NR; ++j)
        for (index k = k0; k < k1; ++k) d[k * NR + j] = 0.0f;
    }
  }
}

// The architecture gemm.hpp uses: the best one this translation unit is compiled for.
#if XSIMD_WITH_AVX512F
using kernel_arch = xsimd::avx512f;
#elif XSIMD_WITH_FMA3_AVX2
using kernel_arch = xsimd::fma3<xsimd::avx2>;
#elif XSIMD_WITH_AVX
using kernel_arch = xsimd::avx;
#elif XSIMD_WITH_SSE2
using kernel_arch = xsimd::sse2;
#elif XSIMD_WITH_NEON64
using kernel_arch = xsimd::neon64;
#else
using kernel_arch = scalar_arch;
#endif

}  // namespace mmm::kernels::detail
