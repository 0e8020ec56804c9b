#pragma once
// Size2: one size per spatial axis, as torch's `int or (int, int)` arguments: `3` is 3 on
// both axes, `{3, 5}` is 3 high and 5 wide. A structural type, so that module geometry can
// be a template argument: MaxPool2D<Pool{.kernel = {3, 5}, .stride = 2}>.

#include <string>

#include "mmm/core/tensor.hpp"

namespace mmm {

struct Size2 {
  index h = 0, w = 0;

  constexpr Size2() = default;
  constexpr Size2(index both) : h(both), w(both) {}  // NOLINT: 3 reads as 3×3, as in torch
  constexpr Size2(index height, index width) : h(height), w(width) {}

  friend constexpr bool operator==(const Size2&, const Size2&) = default;

  // "3" or "3×5", for names and messages.
  std::string str() const { return h == w ? std::to_string(h) : std::to_string(h) + "×" + std::to_string(w); }
};

}  // namespace mmm
