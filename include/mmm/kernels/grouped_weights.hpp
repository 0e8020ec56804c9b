#pragma once
// Weights packed for products whose output columns come in groups of a few registers, so
// that one tile holds every output a fused epilogue needs at once: the four gates of 16
// LSTM units (i, f, g, o of units u..u+15 are one group of four registers), the three of a
// GRU, or simply 64 consecutive columns of a Linear.
//
//   group g, depth k, register v, lane l  ←  W[column_of(g, v, l)][k]·scale_of(g, v, l)
//                                            (W is n×k, torch's layout; a negative column is
//                                            a zero, padding; the scale is 1 unless given)
//
// float32: group g holds k·V·lanes floats, depth-major, so the kernel streams it front to
// back. bfloat16: depth comes in pairs, each 32-bit word holding W[c][2p] in its low half and
// W[c][2p + 1] in its high half — the operand layout of AVX-512 BF16's vdpbf16ps — so a group
// holds ⌈k/2⌉·V·lanes words, half the bytes. `lanes` is the float register width of the
// translation unit (16 with AVX-512, 8 with AVX, 4 with SSE), like the GEMM's packing.

#include <algorithm>
#include <cstdint>

#include <xsimd/xsimd.hpp>

#include "mmm/core/dtype.hpp"
#include "mmm/core/errors.hpp"
#include "mmm/core/tensor.hpp"

namespace mmm::kernels {

namespace detail {
using step_arch = xsimd::default_arch;
inline constexpr index step_lanes = static_cast<index>(xsimd::batch<float, step_arch>::size);
}  // namespace detail

class GroupedWeights {
  static constexpr auto no_scale = [](index, int, index) { return 1.0f; };

 public:
  static constexpr index lanes = detail::step_lanes;

  GroupedWeights() = default;

  // W[n×k] with row stride ldw, as `groups` groups of `vectors` registers.
  template <class ColumnOf, class ScaleOf = decltype(no_scale)>
  GroupedWeights(WeightType type, const float* w, index ldw, index k, index groups, int vectors, ColumnOf column_of,
                 ScaleOf scale_of = no_scale)
      : type_(type), k_(k), groups_(groups), vectors_(vectors) {
    if (k < 0 || groups < 0 || vectors <= 0) throw ShapeError("GroupedWeights: negative sizes");
    const index width = vectors * lanes;
    if (type == WeightType::f32) {
      group_size_ = std::max<index>(1, k) * width;
      f32_ = allocate_aligned<float>(groups * group_size_);
      for (index g = 0; g < groups; ++g)
        for (int v = 0; v < vectors; ++v)
          for (index l = 0; l < lanes; ++l) {
            const index col = column_of(g, v, l);
            const float scale = scale_of(g, v, l);
            float* out = f32_.get() + g * group_size_ + v * lanes + l;
            for (index d = 0; d < k; ++d) out[d * width] = col < 0 ? 0.0f : w[col * ldw + d] * scale;
          }
    } else {
      const index pairs = (k + 1) / 2;
      group_size_ = std::max<index>(1, pairs) * width;
      bf16_ = allocate_aligned<std::uint32_t>(groups * group_size_);
      for (index g = 0; g < groups; ++g)
        for (int v = 0; v < vectors; ++v)
          for (index l = 0; l < lanes; ++l) {
            const index col = column_of(g, v, l);
            const float scale = scale_of(g, v, l);
            std::uint32_t* out = bf16_.get() + g * group_size_ + v * lanes + l;
            for (index p = 0; p < pairs; ++p) {
              auto at = [&](index d) -> std::uint32_t {
                return col < 0 || d >= k ? 0u : float_to_bfloat16(w[col * ldw + d] * scale);
              };
              out[p * width] = at(2 * p) | (at(2 * p + 1) << 16);
            }
          }
    }
  }

  WeightType type() const noexcept { return type_; }
  index k() const noexcept { return k_; }
  index groups() const noexcept { return groups_; }
  int vectors() const noexcept { return vectors_; }
  bool empty() const noexcept { return !f32_ && !bf16_; }

  // Group g: k·V·lanes floats (float32) or ⌈k/2⌉·V·lanes words (bfloat16), depth-major.
  const float* f32_group(index g) const noexcept { return f32_.get() + g * group_size_; }
  const std::uint32_t* bf16_group(index g) const noexcept { return bf16_.get() + g * group_size_; }

 private:
  WeightType type_ = WeightType::f32;
  index k_ = 0, groups_ = 0;
  int vectors_ = 0;
  index group_size_ = 0;
  AlignedArray<float> f32_;
  AlignedArray<std::uint32_t> bf16_;
};

}  // namespace mmm::kernels
