#pragma once
// Selection over a float array: the largest element, and the k largest with their positions —
// what heads and decoders read out of logits and probabilities. Plain API (pointers, sizes).
//
// Order: larger first; equal values by lower position first (so results are the same on
// every platform and standard library). NaN ranks below every number, −inf included.

#include <algorithm>
#include <cstdint>
#include <limits>
#include <utility>

#include "mmm/core/tensor.hpp"
#include "mmm/kernels/math.hpp"

namespace mmm::kernels {

namespace detail {
inline float rank_key(float v) noexcept { return v == v ? v : -std::numeric_limits<float>::infinity(); }

// Whether (a, i) ranks below (b, j).
inline bool ranks_below(float a, std::int32_t i, float b, std::int32_t j) noexcept {
  const float ka = rank_key(a), kb = rank_key(b);
  if (ka != kb) return ka < kb;
  if ((a == a) != (b == b)) return a != a;  // NaN below −inf
  return i > j;
}

// Restores the heap (lowest-ranked on top) below `at` of `n` entries.
inline void sift_down(float* v, std::int32_t* p, index n, index at) noexcept {
  for (;;) {
    const index l = 2 * at + 1, r = l + 1;
    index low = at;
    if (l < n && ranks_below(v[l], p[l], v[low], p[low])) low = l;
    if (r < n && ranks_below(v[r], p[r], v[low], p[low])) low = r;
    if (low == at) return;
    std::swap(v[at], v[low]);
    std::swap(p[at], p[low]);
    at = low;
  }
}
}  // namespace detail

// The position of the largest of x[0, n), n ≥ 1: the first of equal ones.
// Two vector passes (the largest number, then where it first is), a decoder's 8000 logits
// in ~1 µs rather than the ~30 of a compare per element; a row with no number above −inf
// (all −inf or NaN) is ranked element by element.
inline index argmax(const float* x, index n) noexcept {
  using F = Math::F;
  constexpr index W = Math::width;
  constexpr float neg_inf = -std::numeric_limits<float>::infinity();
  auto load = [&](index i) { return i + W <= n ? F::load_unaligned(x + i) : Math::load_partial(x + i, n - i, neg_inf); };
  // v > m is false where v is NaN, so NaN never becomes the largest: it ranks below all.
  F m0(neg_inf), m1(neg_inf);
  index i = 0;
  for (; i + 2 * W <= n; i += 2 * W) {
    const F a = F::load_unaligned(x + i), b = F::load_unaligned(x + i + W);
    m0 = xsimd::select(a > m0, a, m0);
    m1 = xsimd::select(b > m1, b, m1);
  }
  for (; i < n; i += W) {
    const F a = load(i);
    m0 = xsimd::select(a > m0, a, m0);
  }
  alignas(64) float lanes[2 * W];
  m0.store_aligned(lanes);
  m1.store_aligned(lanes + W);
  float best = neg_inf;
  for (const float v : lanes) best = v > best ? v : best;
  if (best == neg_inf) {
    index at = 0;
    for (index j = 1; j < n; ++j)
      if (detail::ranks_below(x[at], static_cast<std::int32_t>(at), x[j], static_cast<std::int32_t>(j))) at = j;
    return at;
  }
  const F target(best);
  for (index j = 0; j < n; j += W) {
    if (!xsimd::any(load(j) == target)) continue;
    for (index l = j; l < std::min(n, j + W); ++l)
      if (x[l] == best) return l;
  }
  return 0;  // not reached: best is one of x
}

// The k largest of x[0, n) into values[0, k) and their positions into positions[0, k),
// largest first; 1 ≤ k ≤ n. O(n log k): a heap of the k best so far, which most elements
// of a long row fail to enter at the first comparison.
inline void top_k(const float* x, index n, index k, float* values, std::int32_t* positions) noexcept {
  for (index i = 0; i < k; ++i) values[i] = x[i], positions[i] = static_cast<std::int32_t>(i);
  for (index i = k / 2; i-- > 0;) detail::sift_down(values, positions, k, i);
  for (index i = k; i < n; ++i) {
    if (detail::ranks_below(values[0], positions[0], x[i], static_cast<std::int32_t>(i))) {
      values[0] = x[i];
      positions[0] = static_cast<std::int32_t>(i);
      detail::sift_down(values, positions, k, 0);
    }
  }
  // Heap sort: the lowest-ranked goes to the end, one after another.
  for (index end = k - 1; end > 0; --end) {
    std::swap(values[0], values[end]);
    std::swap(positions[0], positions[end]);
    detail::sift_down(values, positions, end, 0);
  }
}

}  // namespace mmm::kernels
