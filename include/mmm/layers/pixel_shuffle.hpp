#pragma once
// Rearranging channels into space and back, as torch.nn.PixelShuffle(r) and
// torch.nn.PixelUnshuffle(r):
//   PixelShuffle<R>    Map<C·R²> of H×W  →  Map<C> of H·R × W·R
//                      out[n][c][h·R + i][w·R + j] = in[n][c·R² + i·R + j][h][w]
//   PixelUnshuffle<R>  the inverse; H and W must be multiples of R (a ShapeError otherwise).
// Any channel count that fits (a multiple of R² for PixelShuffle) is taken, as in torch;
// another is a join error at compile time. No parameters; one copy.

#include <string>

#include "mmm/compose/module_base.hpp"
#include "mmm/core/errors.hpp"
#include "mmm/core/threading.hpp"

namespace mmm {

// For messages: PixelShuffle<R> takes a Map whose channels are a multiple of R².
template <index N>
struct map_with_channels_a_multiple_of {};

namespace detail {
// Copies between the two layouts, PixelShuffle's way when ToSpace: element (i, j) of block
// (yy, xx) of spatial channel p (of planes = N·C, each H·R × W·R) is element (yy, xx) of
// packed channel p·R² + i·R + j (each H × W).
template <bool ToSpace>
void pixel_shuffle_copy(const float* src, float* dst, index planes, index r, index h, index w) {
  parallel_for(planes, 1, [&](index begin, index end) {
    for (index p = begin; p < end; ++p)
      for (index i = 0; i < r; ++i)
        for (index j = 0; j < r; ++j) {
          const index packed = ((p * r + i) * r + j) * h * w, spatial = p * h * r * w * r + i * w * r + j;
          for (index yy = 0; yy < h; ++yy)
            for (index xx = 0; xx < w; ++xx) {
              const index a = packed + yy * w + xx, b = spatial + yy * r * w * r + xx * r;
              if constexpr (ToSpace)
                dst[b] = src[a];
              else
                dst[a] = src[b];
            }
        }
  });
}
}  // namespace detail

template <index R>
struct PixelShuffle : ModuleBase<PixelShuffle<R>> {
  static_assert(R > 0, "PixelShuffle<R>: the upscale factor must be positive");

  template <class K>
  static constexpr bool accepts = [] {
    if constexpr (KindOfFamily<K, Map>)
      return kind_of_family<K, Map>::size % (R * R) == 0;
    else
      return false;
  }();
  template <class K>
  using output = Map<kind_of_family<K, Map>::size / (R * R)>;
  template <class K>
  using expects = map_with_channels_a_multiple_of<R * R>;
  using candidate_inputs = kinds<>;

  static std::string name() { return "PixelShuffle<" + std::to_string(R) + ">"; }

  template <index C>
    requires(C % (R * R) == 0)
  Map<C / (R * R)> forward(const Map<C>& x, Workspace& ws) const {
    float* y = ws.allocate<float>(x.numel());
    detail::pixel_shuffle_copy<true>(x.data, y, x.batch * (C / (R * R)), R, x.height, x.width);
    return {y, x.batch, checked_mul(x.height, R, "PixelShuffle"), checked_mul(x.width, R, "PixelShuffle")};
  }
};

template <index R>
struct PixelUnshuffle : ModuleBase<PixelUnshuffle<R>, AnySize<Map, Map>> {
  static_assert(R > 0, "PixelUnshuffle<R>: the downscale factor must be positive");

  // Map<C> gives Map<C·R²>: not AnySize's same-size rule.
  template <class K>
  using output = Map<kind_of_family<K, Map>::size * R * R>;

  static std::string name() { return "PixelUnshuffle<" + std::to_string(R) + ">"; }

  template <index C>
  Map<C * R * R> forward(const Map<C>& x, Workspace& ws) const {
    if (x.height % R != 0 || x.width % R != 0)
      throw ShapeError(name() + ": a " + std::to_string(x.height) + "×" + std::to_string(x.width) +
                       " map does not divide into " + std::to_string(R) + "×" + std::to_string(R) + " blocks");
    float* y = ws.allocate<float>(x.numel());
    detail::pixel_shuffle_copy<false>(x.data, y, x.batch * C, R, x.height / R, x.width / R);
    return {y, x.batch, x.height / R, x.width / R};
  }
};

}  // namespace mmm
