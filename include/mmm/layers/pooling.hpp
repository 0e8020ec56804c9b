#pragma once
// Pooling to one feature vector per batch item:
//   MeanPool       Seq<D> → Feat<D>   mean over each item's valid steps (Seq::lengths)
//   LastStep       Seq<D> → Feat<D>   each item's last valid step
//   MaxOverTime    Seq<D> → Feat<D>   maximum over each item's valid steps, per feature
//                                     (torch: x[b, :length].max(dim=0); NaN if any is NaN)
//   GlobalAvgPool  Map<C> → Feat<C>   mean over H×W: nn.AdaptiveAvgPool2d(1) + flatten
// None has parameters. An item with no valid steps has nothing to pool: RangeError.

#include <string>

#include "mmm/compose/module_base.hpp"
#include "mmm/core/errors.hpp"

namespace mmm {

namespace detail {
// Seq<D> → Feat<D>, with the one check every pooler over time needs.
template <class Derived>
struct SeqToFeat : ModuleBase<Derived, AnySize<Seq, Feat>> {
 protected:
  template <index D>
  static index valid_steps(const Seq<D>& x, index item) {
    const index n = x.valid_length(item);
    if (n <= 0 || n > x.length)
      throw RangeError(Derived::name() + ": item " + std::to_string(item) + " has " + std::to_string(n) +
                       " valid steps of " + std::to_string(x.length) + "; it needs at least one to pool");
    return n;
  }
  // Every item, before the output is allocated: a batch of empty items is refused as such,
  // not after asking for its rows.
  template <index D>
  static void check_items(const Seq<D>& x) {
    for (index b = 0; b < x.batch; ++b) valid_steps(x, b);
  }
};
}  // namespace detail

struct MeanPool : detail::SeqToFeat<MeanPool> {
  static std::string name() { return "MeanPool"; }

  template <index D>
  Feat<D> forward(const Seq<D>& x, Workspace& ws) const {
    check_items(x);
    float* y = ws.allocate<float>(x.batch, D);
    for (index b = 0; b < x.batch; ++b) {
      const index steps = valid_steps(x, b);
      float* out = y + b * D;
      const float* in = x.data + b * x.length * D;
      for (index d = 0; d < D; ++d) out[d] = in[d];
      for (index t = 1; t < steps; ++t)
        for (index d = 0; d < D; ++d) out[d] += in[t * D + d];
      const float inv = 1.0f / static_cast<float>(steps);
      for (index d = 0; d < D; ++d) out[d] *= inv;
    }
    return {y, x.batch};
  }
};

struct LastStep : detail::SeqToFeat<LastStep> {
  static std::string name() { return "LastStep"; }

  template <index D>
  Feat<D> forward(const Seq<D>& x, Workspace& ws) const {
    check_items(x);
    float* y = ws.allocate<float>(x.batch, D);
    for (index b = 0; b < x.batch; ++b) {
      const float* last = x.data + (b * x.length + valid_steps(x, b) - 1) * D;
      for (index d = 0; d < D; ++d) y[b * D + d] = last[d];
    }
    return {y, x.batch};
  }
};

struct MaxOverTime : detail::SeqToFeat<MaxOverTime> {
  static std::string name() { return "MaxOverTime"; }

  template <index D>
  Feat<D> forward(const Seq<D>& x, Workspace& ws) const {
    float* y = ws.allocate<float>(x.batch * D);
    for (index b = 0; b < x.batch; ++b) {
      const index steps = valid_steps(x, b);
      float* out = y + b * D;
      const float* in = x.data + b * x.length * D;
      for (index d = 0; d < D; ++d) out[d] = in[d];
      for (index t = 1; t < steps; ++t)
        for (index d = 0; d < D; ++d) {
          const float v = in[t * D + d];
          if (out[d] != out[d]) continue;  // a NaN stays, as in torch.max
          if (v > out[d] || v != v) out[d] = v;
        }
    }
    return {y, x.batch};
  }
};

struct GlobalAvgPool : ModuleBase<GlobalAvgPool, AnySize<Map, Feat>> {
  static std::string name() { return "GlobalAvgPool"; }

  template <index C>
  Feat<C> forward(const Map<C>& x, Workspace& ws) const {
    // Each side, not only their product: H = W = -1 would make a plane of one.
    if (x.height <= 0 || x.width <= 0)
      throw ShapeError(name() + ": the map is " + std::to_string(x.height) + "×" + std::to_string(x.width) +
                       "; averaging needs at least one position");
    const index plane = x.height * x.width;
    float* y = ws.allocate<float>(x.batch, C);
    const float inv = 1.0f / static_cast<float>(plane);
    for (index i = 0; i < x.batch * C; ++i) {
      const float* p = x.data + i * plane;
      // Double accumulation: a large plane summed in float drifts from torch's pairwise sum.
      double sum = 0;
      for (index j = 0; j < plane; ++j) sum += p[j];
      y[i] = static_cast<float>(sum) * inv;
    }
    return {y, x.batch};
  }
};

}  // namespace mmm
