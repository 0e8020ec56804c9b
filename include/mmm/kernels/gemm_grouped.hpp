#pragma once
// C[m×n] = act(A[m×k] · Wᵀ + bias) against weights packed as GroupedWeights, float32 or
// bfloat16: the product of a Linear whose weights are stored in bfloat16 (and of an RNN's
// input projection with bfloat16 weights). Float weights go through kernels::gemm, tuned
// to the FMA peak; this is the one product that reads bfloat16 weights, with AVX-512 BF16
// dot products where the target has them and widened to float32 elsewhere (the result
// then differs only by the activations' rounding to bfloat16, ≤ 2^-9 relative per term).
//
// Threads take whole column groups; with AVX-512 BF16 the rows of A are rounded to bfloat16
// pairs once, into a buffer of the calling thread that only grows (no allocation in steady
// state).

#include <algorithm>

#include "mmm/core/checked.hpp"
#include "mmm/core/errors.hpp"
#include "mmm/core/tensor.hpp"
#include "mmm/core/threading.hpp"
#include "mmm/kernels/activation.hpp"
#include "mmm/kernels/detail/grouped_tile.hpp"
#include "mmm/kernels/grouped_weights.hpp"

namespace mmm::kernels {

// Registers per column group of a plain product: 64 columns with AVX-512.
inline constexpr int plain_group_vectors = 4;

// W[n×k] (a Linear's weight, row stride ldw) packed for gemm_grouped.
inline GroupedWeights pack_grouped(WeightType type, const float* w, index n, index k, index ldw) {
  constexpr index width = plain_group_vectors * GroupedWeights::lanes;
  return GroupedWeights(type, w, ldw, k, (n + width - 1) / width, plain_group_vectors,
                        [n](index g, int v, index l) -> index {
                          const index col = g * width + v * GroupedWeights::lanes + l;
                          return col < n ? col : -1;
                        });
}

namespace detail {

// A buffer of the calling thread that only grows.
inline std::uint32_t* operand_scratch(index words) {
  thread_local AlignedArray<std::uint32_t> buffer;
  thread_local index capacity = 0;
  if (words > capacity) {
    buffer = allocate_aligned<std::uint32_t>(words);
    capacity = words;
  }
  return buffer.get();
}

// The activations other than none, out of line: the tiles are many shapes, and each would
// otherwise inline all of them.
template <class A>
[[gnu::noinline]] void store_activated(Activation act, float* p, index n, Floats<A> v) {
  store_first<A>(p, n, activate<A>(act, v));
}

// Columns [g·64, g·64 + 64) of rows [0, m) of C, for every g in [g0, g1).
template <class A, Product P, int V>
void grouped_columns(index m, const Operand<P>* a, index lda, const GroupedWeights& w, index n, float* c, index ldc,
                     const float* bias, Activation act, index g0, index g1) {
  constexpr index W = GroupedWeights::lanes;
  // Blocks of rows whose operands stay in L2 while every group passes over them.
  constexpr index block = 192;
  const Operand<P>* rows[block];
  for (index i0 = 0; i0 < m; i0 += block) {
    const index nb = std::min(block, m - i0);
    for (index i = 0; i < nb; ++i) rows[i] = a + (i0 + i) * lda;
    for_each_tile<A, P, V>(nb, rows, w, g0, g1, [&](auto& tile, index r0, index g) {
      using Tile = std::remove_cvref_t<decltype(tile)>;
#pragma GCC unroll 4
      for (int j = 0; j < Tile::groups; ++j)
#pragma GCC unroll 4
        for (int v = 0; v < V; ++v) {
          const index col = ((g + j) * V + v) * W;
          if (col >= n) break;
          const Floats<A> b = bias ? load_first<A>(bias + col, n - col) : Floats<A>(0.0f);
#pragma GCC unroll 8
          for (int r = 0; r < Tile::rows; ++r) {
            float* out = c + (i0 + r0 + r) * ldc + col;
            if (act == Activation::none)
              store_first<A>(out, n - col, tile.acc[r][j][v] + b);
            else
              store_activated<A>(act, out, n - col, tile.acc[r][j][v] + b);
          }
        }
    });
  }
}

template <class A, Product P>
void gemm_grouped_with(index m, const float* a, index lda, const GroupedWeights& w, index n, float* c, index ldc,
                       const float* bias, Activation act) {
  const index k = w.k();
  const Operand<P>* op;
  index ld;
  if constexpr (P == Product::bf16_dot) {
    ld = (operand_length(P, k) + 15) / 16 * 16;
    std::uint32_t* pairs = operand_scratch(checked_mul(std::max<index>(m, 1), ld, "gemm_grouped"));
    for (index i = 0; i < m; ++i) to_bf16_pairs(a + i * lda, k, pairs + i * ld);
    op = pairs;
  } else {
    op = a;
    ld = lda;
  }
  const index groups = w.groups();
  // Below ~2 MFLOP a parallel region costs more than it saves (as in kernels::gemm).
  const bool threaded = static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(std::max<index>(k, 1)) >= 1e6;
  parallel_for(groups, threaded ? 1 : groups, [&](index g0, index g1) {
    if (w.vectors() == 3)
      grouped_columns<A, P, 3>(m, op, ld, w, n, c, ldc, bias, act, g0, g1);
    else
      grouped_columns<A, P, 4>(m, op, ld, w, n, c, ldc, bias, act, g0, g1);
  });
}

// The checks of gemm_grouped, then the product P.
template <Product P>
void gemm_grouped_checked(index m, const float* a, index lda, const GroupedWeights& w, index n, float* c, index ldc,
                          const float* bias, Activation act) {
  if (m <= 0 || n <= 0) return;
  if ((w.vectors() != 3 && w.vectors() != 4) || w.groups() * w.vectors() * GroupedWeights::lanes < n ||
      (P == Product::f32) != (w.type() == WeightType::f32))
    throw ShapeError("gemm_grouped: the weights have " + std::to_string(w.groups() * w.vectors() * GroupedWeights::lanes) +
                     " columns in groups of " + std::to_string(w.vectors()) + " registers, " + std::to_string(n) +
                     " are asked for");
  gemm_grouped_with<step_arch, P>(m, a, lda, w, n, c, ldc, bias, act);
}

}  // namespace detail

// C[m×n] (ldc) = act(A[m×k] (lda) · Wᵀ + bias[n]) for W packed by pack_grouped for these n
// and k, or C in the column order of any GroupedWeights of 3 or 4 registers per group (n ≤
// groups·vectors·lanes: the recurrent layers' step layout); bias may be null. C must not
// overlap A.
inline void gemm_grouped(index m, const float* a, index lda, const GroupedWeights& w, index n, float* c, index ldc,
                         const float* bias = nullptr, Activation act = Activation::none) {
  if (w.type() == WeightType::f32)
    detail::gemm_grouped_checked<detail::Product::f32>(m, a, lda, w, n, c, ldc, bias, act);
  else
    detail::gemm_grouped_checked<detail::product_for(WeightType::bf16)>(m, a, lda, w, n, c, ldc, bias, act);
}

}  // namespace mmm::kernels
