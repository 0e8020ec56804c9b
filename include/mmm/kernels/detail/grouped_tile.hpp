#pragma once
// The micro-kernel over GroupedWeights: R rows of activations times one group (V registers
// of columns), accumulated over the whole depth into R·V registers that an epilogue then
// finishes in place (gate math, bias and activation). Three ways to multiply:
//   f32         float weights, float activations, FMA;
//   bf16_dot    bfloat16 weight pairs and activations rounded to bfloat16 pairs, AVX-512
//               BF16's vdpbf16ps (two products and their sum per lane, float32 accumulation);
//   bf16_widen  bfloat16 weight pairs widened to float32 (a shift and a mask), float
//               activations, FMA: where the compile target lacks AVX-512 BF16.
// Each output's sums are in one fixed order whatever the tile (GroupTile, below).

#include <algorithm>
#include <cstdint>
#include <type_traits>

#include <xsimd/xsimd.hpp>

#include "mmm/core/dtype.hpp"
#include "mmm/core/tensor.hpp"
#include "mmm/kernels/activation.hpp"
#include "mmm/kernels/detail/activate.hpp"
#include "mmm/kernels/detail/gemm_kernel.hpp"
#include "mmm/kernels/detail/math_simd.hpp"
#include "mmm/kernels/grouped_weights.hpp"

#if defined(__AVX512BF16__) && defined(__AVX512F__)
#include <immintrin.h>
#define MMM_HAS_BF16_DOT 1
#else
#define MMM_HAS_BF16_DOT 0
#endif

// See detail/math_simd.hpp: GCC 12 flags _mm512_undefined_ps() inside the intrinsics.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace mmm::kernels::detail {

enum class Product : std::uint8_t { f32, bf16_dot, bf16_widen };

// The product a weight type gets in this translation unit.
constexpr Product product_for(WeightType type) {
  if (type == WeightType::f32) return Product::f32;
  return MMM_HAS_BF16_DOT && std::is_base_of_v<xsimd::avx512f, step_arch> ? Product::bf16_dot : Product::bf16_widen;
}

// A row of activations as the product reads it: floats, or bfloat16 pairs for bf16_dot.
template <Product P>
using Operand = std::conditional_t<P == Product::bf16_dot, std::uint32_t, float>;

// Operand elements a row of k activations takes.
constexpr index operand_length(Product p, index k) { return p == Product::bf16_dot ? (k + 1) / 2 : k; }

// k floats as ⌈k/2⌉ words of bfloat16 pairs (nearest, ties to even; the high half of the
// last word is 0 for odd k), as vdpbf16ps reads them.
inline void to_bf16_pairs(const float* x, index k, std::uint32_t* out) {
  index i = 0;
#if MMM_HAS_BF16_DOT
  for (; i + 32 <= k; i += 32) {
    const __m512bh b = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(x + i + 16), _mm512_loadu_ps(x + i));
    _mm512_storeu_si512(out + i / 2, reinterpret_cast<const __m512i&>(b));
  }
  if (i < k) {
    const index rest = k - i;
    const __mmask16 lo = static_cast<__mmask16>(rest >= 16 ? 0xffff : (1u << rest) - 1u);
    const __mmask16 hi = static_cast<__mmask16>(rest <= 16 ? 0 : (1u << (rest - 16)) - 1u);
    const __m512bh b = _mm512_cvtne2ps_pbh(_mm512_maskz_loadu_ps(hi, x + i + 16), _mm512_maskz_loadu_ps(lo, x + i));
    const index words = (rest + 1) / 2;
    _mm512_mask_storeu_epi32(out + i / 2, static_cast<__mmask16>((1u << words) - 1u), reinterpret_cast<const __m512i&>(b));
  }
#else
  for (; i < k; i += 2) {
    const std::uint32_t hi = i + 1 < k ? float_to_bfloat16(x[i + 1]) : 0u;
    out[i / 2] = float_to_bfloat16(x[i]) | (hi << 16);
  }
#endif
}

template <class A>
using Floats = xsimd::batch<float, A>;

// R rows × G groups × V registers of accumulators over the depth of a weight group.
//
// The order of the sums is fixed, whatever the tile: the depth is cut into four blocks
// [n·j/4, n·(j + 1)/4) (n depths, or bfloat16 pairs), each block summed in one chain from
// zero in depth order, and an output is (b0 + b1) + (b2 + b3). So an output's bits never
// depend on the tile it is computed in — how many rows are in the batch, how many threads
// share the step, one frame or a whole sequence — and a streamed frame gives exactly what
// the whole sequence gives. Small tiles (a single row: latency-bound) run the blocks side
// by side, four times the independent chains; big ones run them one after another.
template <class A, Product P, int R, int G, int V>
struct GroupTile {
  using F = Floats<A>;
  static constexpr index W = static_cast<index>(F::size);
  static constexpr int rows = R, groups = G, vectors = V;
  static constexpr int blocks = 4;
  static constexpr int side_by_side = R * G * V >= 16 ? 1 : R * G * V >= 8 ? 2 : 4;

  F acc[R][G][V];

  // acc[r][j] = Σ_d rows[r][d] · group (g + j)[d], over the k depths of w.
  [[gnu::always_inline]] inline void multiply(const Operand<P>* const* rows, const GroupedWeights& w, index g) {
    const index k = w.k();
    const index n = P == Product::f32 ? k : (k + 1) / 2;
    index start[blocks + 1];
#pragma GCC unroll 5
    for (int j = 0; j <= blocks; ++j) start[j] = n * j / blocks;
    const void* group[G];
#pragma GCC unroll 4
    for (int j = 0; j < G; ++j) group[j] = P == Product::f32 ? static_cast<const void*>(w.f32_group(g + j)) : w.bf16_group(g + j);
    F rest[R][G][V];
#pragma GCC unroll 4
    for (int j0 = 0; j0 < blocks; j0 += side_by_side) {
      F part[side_by_side][R][G][V];
      index length = n, longest = 0;
#pragma GCC unroll 4
      for (int i = 0; i < side_by_side; ++i) {
        length = std::min(length, start[j0 + i + 1] - start[j0 + i]);
        longest = std::max(longest, start[j0 + i + 1] - start[j0 + i]);
#pragma GCC unroll 8
        for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
          for (int q = 0; q < G; ++q)
#pragma GCC unroll 4
            for (int v = 0; v < V; ++v) part[i][r][q][v] = F(0.0f);
      }
#pragma GCC unroll 2
      for (index d = 0; d < length; ++d)
#pragma GCC unroll 4
        for (int i = 0; i < side_by_side; ++i) step(part[i], rows, group, k, start[j0 + i] + d);
      for (index d = length; d < longest; ++d)  // the blocks one longer than the others
#pragma GCC unroll 4
        for (int i = 0; i < side_by_side; ++i)
          if (start[j0 + i] + d < start[j0 + i + 1]) step(part[i], rows, group, k, start[j0 + i] + d);
      // (b0 + b1) into acc, (b2 + b3) into rest, then acc + rest.
#pragma GCC unroll 4
      for (int i = 0; i < side_by_side; ++i) {
        const int j = j0 + i;
#pragma GCC unroll 8
        for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
          for (int q = 0; q < G; ++q)
#pragma GCC unroll 4
            for (int v = 0; v < V; ++v) {
              F& sum = j < 2 ? acc[r][q][v] : rest[r][q][v];
              sum = j % 2 == 0 ? part[i][r][q][v] : sum + part[i][r][q][v];
            }
      }
    }
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
      for (int q = 0; q < G; ++q)
#pragma GCC unroll 4
        for (int v = 0; v < V; ++v) acc[r][q][v] = acc[r][q][v] + rest[r][q][v];
  }

 private:
  // p += rows[·] at depth d (a depth, or a bfloat16 pair) × the groups at d.
  [[gnu::always_inline]] static inline void step(F (&p)[R][G][V], const Operand<P>* const* rows, const void* const* group,
                                                 index k, index d) {
    constexpr index stride = V * W;
    if constexpr (P == Product::f32) {
      F wv[G][V];
#pragma GCC unroll 4
      for (int j = 0; j < G; ++j)
#pragma GCC unroll 4
        for (int v = 0; v < V; ++v) wv[j][v] = F::load_unaligned(static_cast<const float*>(group[j]) + d * stride + v * W);
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) {
        const F x(rows[r][d]);
#pragma GCC unroll 4
        for (int j = 0; j < G; ++j)
#pragma GCC unroll 4
          for (int v = 0; v < V; ++v) p[r][j][v] = Simd<A>::fma(x, wv[j][v], p[r][j][v]);
      }
    } else if constexpr (P == Product::bf16_dot) {
#if MMM_HAS_BF16_DOT
      static_assert(W == 16, "bf16_dot runs on AVX-512 registers");
      (void)k;
      __m512i wv[G][V];
#pragma GCC unroll 4
      for (int j = 0; j < G; ++j)
#pragma GCC unroll 4
        for (int v = 0; v < V; ++v) wv[j][v] = _mm512_loadu_si512(static_cast<const std::uint32_t*>(group[j]) + d * stride + v * W);
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) {
        const __m512i x = _mm512_set1_epi32(static_cast<int>(rows[r][d]));
#pragma GCC unroll 4
        for (int j = 0; j < G; ++j)
#pragma GCC unroll 4
          for (int v = 0; v < V; ++v)
            p[r][j][v] = _mm512_dpbf16_ps(p[r][j][v], reinterpret_cast<const __m512bh&>(x),
                                          reinterpret_cast<const __m512bh&>(wv[j][v]));
      }
#endif
    } else {
      using I = xsimd::batch<std::int32_t, A>;
      const I high_half(static_cast<std::int32_t>(0xffff0000u));
      const bool both = 2 * d + 1 < k;  // an odd depth's last pair has no second half
      F lo[G][V], hi[G][V];
#pragma GCC unroll 4
      for (int j = 0; j < G; ++j)
#pragma GCC unroll 4
        for (int v = 0; v < V; ++v) {
          const I word = I::load_unaligned(static_cast<const std::int32_t*>(group[j]) + d * stride + v * W);
          lo[j][v] = xsimd::bitwise_cast<F>(word << 16);
          hi[j][v] = xsimd::bitwise_cast<F>(word & high_half);
        }
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) {
        const F x0(rows[r][2 * d]);
#pragma GCC unroll 4
        for (int j = 0; j < G; ++j)
#pragma GCC unroll 4
          for (int v = 0; v < V; ++v) p[r][j][v] = Simd<A>::fma(x0, lo[j][v], p[r][j][v]);
        if (both) {
          const F x1(rows[r][2 * d + 1]);
#pragma GCC unroll 4
          for (int j = 0; j < G; ++j)
#pragma GCC unroll 4
            for (int v = 0; v < V; ++v) p[r][j][v] = Simd<A>::fma(x1, hi[j][v], p[r][j][v]);
        }
      }
    }
  }
};

// Groups a one-row tile takes at once: 8 chains or more (V = 4: 2 groups; V = 3: 3).
template <int V>
constexpr int single_row_groups() {
  return (8 + V - 1) / V;
}

// Floats p[0..n) for 0 < n ≤ W, `fill` past n; and the matching partial store.
template <class A>
[[gnu::always_inline]] inline Floats<A> load_first(const float* p, index n, float fill = 0.0f) {
  if (n >= static_cast<index>(Floats<A>::size)) return Floats<A>::load_unaligned(p);
  return simd::detail::load_partial<A>(p, static_cast<std::size_t>(n), fill, A{});
}
template <class A>
[[gnu::always_inline]] inline void store_first(float* p, index n, const Floats<A>& v) {
  if (n >= static_cast<index>(Floats<A>::size))
    v.store_unaligned(p);
  else if (n > 0)
    simd::detail::store_partial<A>(p, static_cast<std::size_t>(n), v, A{});
}

// How many rows a tile of V registers per row takes on this register file: all the
// accumulators, the V weight registers and a broadcast must fit (AVX-512 has 32, else 16).
template <class A, int V>
constexpr int max_tile_rows() {
  constexpr int registers = std::is_base_of_v<xsimd::avx512f, A> ? 32 : 16;
  const int rows = (registers - V - 2) / V;
  return rows > 8 ? 8 : rows < 1 ? 1 : rows;
}

// fn(std::integral_constant<int, c>) for c = count (1 ≤ count ≤ Max): a tile of as many
// rows (or groups) as are left, with every size compiled.
template <int Max, class Fn>
[[gnu::always_inline]] inline void with_count(index count, Fn&& fn) {
  [&]<int... C>(std::integer_sequence<int, C...>) {
    (void)((count == C + 1 && (fn(std::integral_constant<int, C + 1>{}), true)) || ...);
  }(std::make_integer_sequence<int, Max>{});
}

// Runs the product of `n` rows with groups [g0, g1) of w in tiles, and finish(tile, i0, g)
// on each while it is in registers: tile.acc[r][j][v] is row i0 + r, group g + j. Several
// rows: tiles of up to max_tile_rows rows and one group, the group outer so that its
// weights are reused from cache by every row tile. One row: tiles of several groups.
template <class A, Product P, int V, class Finish>
[[gnu::always_inline]] inline void for_each_tile(index n, const Operand<P>* const* rows, const GroupedWeights& w, index g0,
                                                 index g1, Finish&& finish) {
  constexpr int MR = max_tile_rows<A, V>();
  constexpr int G1 = single_row_groups<V>();
  if (n == 1) {
    for (index g = g0; g < g1; g += G1)
      with_count<G1>(std::min<index>(G1, g1 - g), [&](auto groups) {
        GroupTile<A, P, 1, decltype(groups)::value, V> tile;
        tile.multiply(rows, w, g);
        finish(tile, index{0}, g);
      });
    return;
  }
  for (index g = g0; g < g1; ++g)
    for (index i0 = 0; i0 < n; i0 += MR)
      with_count<MR>(std::min<index>(MR, n - i0), [&](auto tile_rows) {
        GroupTile<A, P, decltype(tile_rows)::value, 1, V> tile;
        tile.multiply(rows + i0, w, g);
        finish(tile, i0, g);
      });
}

}  // namespace mmm::kernels::detail

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
