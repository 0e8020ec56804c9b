#pragma once
// Selection over a float array: the largest element, and the k largest with their positions —
// what heads and decoders read out of logits and probabilities. Plain API (pointers, sizes).
//
// Order: larger first; equal values by lower position first (so results are the same on
// every platform and standard library). NaN ranks below every number, −inf included.

#include <cstdint>
#include <limits>
#include <utility>

#include "mmm/core/tensor.hpp"

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
inline index argmax(const float* x, index n) noexcept {
  index best = 0;
  for (index i = 1; i < n; ++i)
    if (detail::ranks_below(x[best], static_cast<std::int32_t>(best), x[i], static_cast<std::int32_t>(i))) best = i;
  return best;
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
