#pragma once
// Flatten<C, H, W>: Map<C> of H×W positions → Feat<C·H·W>, as torch.nn.Flatten() on NCHW
// (channel-major, then rows, then columns). H and W are part of the type because the next
// module's feature size depends on them; a map of another size is a ShapeError naming the
// module. No copy: NCHW is already laid out as N rows of C·H·W.

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

}  // namespace mmm
