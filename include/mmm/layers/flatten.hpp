#pragma once
// Flatten<C, H, W>: Map<C> of H×W positions → Feat<C·H·W>, as torch.nn.Flatten() on NCHW
// (channel-major, then rows, then columns). H and W are part of the type because the next
// module's feature size depends on them; a map of another size is a ShapeError naming the
// module. No copy: NCHW is already laid out as N rows of C·H·W.
//
// MapToSeq: Map<C> of any H×W → Seq<C> of H·W steps, one per position in row-major order,
// as x.flatten(2).transpose(1, 2): a CNN's grid as image tokens for a sequence join or
// cross-attention. Every item has all H·W steps (no lengths).

#include <algorithm>
#include <string>

#include "mmm/compose/module_base.hpp"
#include "mmm/core/errors.hpp"

namespace mmm {

template <index C, index H, index W>
struct Flatten : ModuleBase<Flatten<C, H, W>, Takes<Map<C>, Feat<C * H * W>>> {
  static_assert(C > 0 && H > 0 && W > 0, "Flatten<C, H, W>: sizes must be positive");
  static constexpr index features = C * H * W;

  static std::string name() {
    return "Flatten<" + std::to_string(C) + ", " + std::to_string(H) + ", " + std::to_string(W) + ">";
  }

  Feat<features> forward(const Map<C>& x, Workspace&) const {
    if (x.height != H || x.width != W)
      throw ShapeError(name() + ": needs " + std::to_string(H) + "×" + std::to_string(W) + " maps, got " +
                       std::to_string(x.height) + "×" + std::to_string(x.width) + " (resize the image first)");
    return {x.data, x.batch};
  }
};

struct MapToSeq : ModuleBase<MapToSeq, AnySize<Map, Seq>> {
  static std::string name() { return "MapToSeq"; }

  template <index C>
  Seq<C> forward(const Map<C>& x, Workspace& ws) const {
    const index steps = x.height * x.width;
    float* y = ws.allocate<float>(x.numel());
    // Blocks of positions keep both the planes read and the rows written in cache.
    constexpr index block = 64;
    for (index b = 0; b < x.batch; ++b) {
      const float* in = x.data + b * C * steps;
      float* out = y + b * steps * C;
      for (index t0 = 0; t0 < steps; t0 += block) {
        const index t1 = std::min(steps, t0 + block);
        for (index c = 0; c < C; ++c)
          for (index t = t0; t < t1; ++t) out[t * C + c] = in[c * steps + t];
      }
    }
    return {y, x.batch, steps};
  }
};

}  // namespace mmm
