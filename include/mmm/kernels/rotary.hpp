#pragma once
// Rotary position embedding (RoPE, Su et al. 2021) of query and key heads, in place: each
// pair (x_a, x_b) of a head at position p turns by the angle p·θ_i,
//   x_a' = x_a·cos − x_b·sin,   x_b' = x_b·cos + x_a·sin,
// with pairs (i, i + head_dim/2) as Hugging Face's LLaMA (rotate_half), or (2i, 2i + 1) as
// Meta's original and GPT-J (interleaved). cos and sin come from a table row for the
// position: head_dim/2 entries each.

#include "mmm/core/tensor.hpp"
#include "mmm/kernels/math.hpp"

namespace mmm::kernels {

// `heads` heads of head_dim (even) at x, x + head_dim, …, all at the same position.
inline void rotary(float* x, index heads, index head_dim, const float* cos, const float* sin, bool interleaved) {
  using F = Math::F;
  constexpr index W = Math::width;
  const index half = head_dim / 2;
  for (index h = 0; h < heads; ++h) {
    float* v = x + h * head_dim;
    if (interleaved) {
      for (index i = 0; i < half; ++i) {
        const float a = v[2 * i], b = v[2 * i + 1];
        v[2 * i] = a * cos[i] - b * sin[i];
        v[2 * i + 1] = b * cos[i] + a * sin[i];
      }
      continue;
    }
    index i = 0;
    for (; i + W <= half; i += W) {
      const F a = F::load_unaligned(v + i), b = F::load_unaligned(v + half + i);
      const F c = F::load_unaligned(cos + i), s = F::load_unaligned(sin + i);
      xsimd::fms(a, c, b * s).store_unaligned(v + i);
      xsimd::fma(b, c, a * s).store_unaligned(v + half + i);
    }
    for (; i < half; ++i) {
      const float a = v[i], b = v[half + i];
      v[i] = a * cos[i] - b * sin[i];
      v[half + i] = b * cos[i] + a * sin[i];
    }
  }
}

}  // namespace mmm::kernels
