#pragma once
// Positional encodings: where in its sequence each step is.
//   SinusoidalPositions<D, MaxLen>  x + PE[t], PE[t, 2i] = sin(t/10000^(2i/D)), PE[t, 2i+1] = cos(…),
//                                   "Attention Is All You Need"; no parameters (a "pe" buffer
//                                   in a state_dict, as PyTorch's tutorial saves it, is accepted
//                                   and not read: the table is computed here, in double precision)
//   LearnedPositions<MaxLen, D>     x + weight[t], weight [MaxLen, D] (an nn.Embedding of
//                                   positions: GPT-2's wpe)
//   RotaryEmbedding<HeadDim, Rope>  rotary position embedding (RoPE) of query and key heads,
//                                   applied inside Attention (Attn{.rope = Rope{.theta = 10000}})
// Seq<D> → Seq<D>; step t of every item is at position t, or offsets[b] + t when a decoder
// step continues a cached prefix (forward_at).

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>

#include "mmm/compose/module_base.hpp"
#include "mmm/core/errors.hpp"
#include "mmm/kernels/math.hpp"
#include "mmm/kernels/rotary.hpp"

namespace mmm {

namespace detail {
// The positions [offsets[b], offsets[b] + counts[b]) of every item (offsets null: 0; counts
// null: every step) must be below max_positions.
inline void check_positions(std::string (*who)(), index batch, index length, const std::int32_t* offsets,
                            const std::int32_t* counts, index max_positions) {
  for (index b = 0; b < batch; ++b) {
    const index first = offsets ? offsets[b] : 0, n = counts ? counts[b] : length;
    if (n > 0 && first + n > max_positions)
      throw RangeError(who() + ": item " + std::to_string(b) + " reaches position " + std::to_string(first + n - 1) +
                       ", past the " + std::to_string(max_positions) + " positions it has");
  }
}

// y[b, t] = x[b, t] + table[offsets[b] + t] (rows of D) for the first counts[b] steps of each
// item; the others (padding of a decoder step) are copied.
template <index D>
Seq<D> add_positions(const Seq<D>& x, const float* table, const std::int32_t* offsets, const std::int32_t* counts,
                     Workspace& ws) {
  float* y = ws.allocate<float>(x.numel());
  for (index b = 0; b < x.batch; ++b) {
    const index first = offsets ? offsets[b] : 0, n = counts ? counts[b] : x.length;
    const index at = b * x.length * D;
    kernels::add(x.data + at, table + first * D, y + at, n * D);
    std::copy(x.data + at + n * D, x.data + at + x.length * D, y + at + n * D);
  }
  return same_shape(x, y);
}
}  // namespace detail

template <index D, index MaxLen = 4096>
class SinusoidalPositions : public ModuleBase<SinusoidalPositions<D, MaxLen>, Takes<Seq<D>, Seq<D>>> {
  static_assert(D > 0 && MaxLen > 0, "SinusoidalPositions<D, MaxLen>: sizes must be positive");

 public:
  static constexpr index max_positions = MaxLen;
  static std::string name() { return "SinusoidalPositions<" + std::to_string(D) + ", " + std::to_string(MaxLen) + ">"; }

  SinusoidalPositions() : table_(Shape{MaxLen, D}) {
    for (index t = 0; t < MaxLen; ++t)
      for (index i = 0; i < D; i += 2) {
        const double angle = static_cast<double>(t) * std::exp(static_cast<double>(i) * (-std::log(10000.0) / D));
        table_[t * D + i] = static_cast<float>(std::sin(angle));
        if (i + 1 < D) table_[t * D + i + 1] = static_cast<float>(std::cos(angle));
      }
  }

  static void parameters(auto&, auto&& p) { p.unused("pe"); }

  Seq<D> forward(const Seq<D>& x, Workspace& ws) const { return forward_at(x, nullptr, nullptr, ws); }
  // Item b's step t at position offsets[b] + t (offsets: null for 0), for its first counts[b]
  // steps (null: all of them); the others are padding and pass unchanged.
  Seq<D> forward_at(const Seq<D>& x, const std::int32_t* offsets, const std::int32_t* counts, Workspace& ws) const {
    detail::check_positions(&name, x.batch, x.length, offsets, counts, MaxLen);
    return detail::add_positions(x, table_.data(), offsets, counts, ws);
  }

 private:
  Tensor table_;
};

template <index MaxLen, index D>
class LearnedPositions : public ModuleBase<LearnedPositions<MaxLen, D>, Takes<Seq<D>, Seq<D>>> {
  static_assert(D > 0 && MaxLen > 0, "LearnedPositions<MaxLen, D>: sizes must be positive");

 public:
  static constexpr index max_positions = MaxLen;
  static std::string name() { return "LearnedPositions<" + std::to_string(MaxLen) + ", " + std::to_string(D) + ">"; }

  LearnedPositions() : weight_(Shape{MaxLen, D}) {}

  static void parameters(auto& self, auto&& p) { p("weight", self.weight_); }
  Tensor& weight() noexcept { return weight_; }

  Seq<D> forward(const Seq<D>& x, Workspace& ws) const { return forward_at(x, nullptr, nullptr, ws); }
  Seq<D> forward_at(const Seq<D>& x, const std::int32_t* offsets, const std::int32_t* counts, Workspace& ws) const {
    detail::check_positions(&name, x.batch, x.length, offsets, counts, MaxLen);
    return detail::add_positions(x, weight_.data(), offsets, counts, ws);
  }

 private:
  Tensor weight_;
};

// The options of a rotary embedding, part of an attention's type: Attn{.rope = Rope{.theta = 10000}}.
struct Rope {
  float theta = 0.0f;            // frequencies θ_i = theta^(−2i/head_dim); 0: no rotary embedding
  index max_positions = 4096;    // positions the cos/sin table covers
  bool interleaved = false;      // pairs (2i, 2i+1) (Meta, GPT-J) instead of (i, i + head_dim/2) (Hugging Face)
};

// The cos/sin table of a rotary embedding, built once per program and shared by every layer
// that uses the same one. The frequencies are rounded to float first, as PyTorch keeps them
// (inv_freq is a float32 buffer); the angles and their cos/sin are computed in double.
template <index HeadDim, Rope R>
class RotaryEmbedding {
  static_assert(HeadDim > 0 && HeadDim % 2 == 0, "RotaryEmbedding: the head size must be even (it rotates pairs)");
  static_assert(R.theta > 0 && R.max_positions > 0, "RotaryEmbedding: theta and max_positions must be positive");
  static constexpr index half = HeadDim / 2;

 public:
  static const RotaryEmbedding& shared() {
    static const RotaryEmbedding table;
    return table;
  }

  // Rows (stride ld) of `heads` heads each, item b's step t at position offsets[b] + t, for
  // its first counts[b] steps (null: all); padding steps are left as they are.
  void apply(float* x, index ld, index heads, index batch, index length, const std::int32_t* offsets,
             const std::int32_t* counts, std::string (*who)()) const {
    detail::check_positions(who, batch, length, offsets, counts, R.max_positions);
    for (index b = 0; b < batch; ++b)
      for (index t = 0; t < (counts ? counts[b] : length); ++t) {
        const index pos = (offsets ? offsets[b] : 0) + t;
        kernels::rotary(x + (b * length + t) * ld, heads, HeadDim, cos_.data() + pos * half, sin_.data() + pos * half,
                        R.interleaved);
      }
  }

 private:
  RotaryEmbedding() : cos_(Shape{R.max_positions, half}), sin_(Shape{R.max_positions, half}) {
    for (index i = 0; i < half; ++i) {
      const float inv_freq = static_cast<float>(1.0 / std::pow(static_cast<double>(R.theta), 2.0 * i / HeadDim));
      for (index p = 0; p < R.max_positions; ++p) {
        const double angle = static_cast<double>(p) * static_cast<double>(inv_freq);
        cos_[p * half + i] = static_cast<float>(std::cos(angle));
        sin_[p * half + i] = static_cast<float>(std::sin(angle));
      }
    }
  }
  Tensor cos_, sin_;
};

}  // namespace mmm
