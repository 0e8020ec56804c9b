#pragma once
// GroupNorm<Groups, C>: the C channels of each item of a Map<C> in Groups groups of C/Groups
// consecutive channels, each group normalized over its channels and positions by its own
// mean and biased variance, then weight[c]·x̂ + bias[c]: torch.nn.GroupNorm(Groups, C, eps),
// giving Map<C>. Parameters: weight [C], bias [C]; none with Norm{.affine = false}.
// Statistics are per item and per call, so batch size and image size are free.
//
// In NCHW one group of one item is contiguous, so each is a row for the layer-norm kernel
// (corrected two-pass statistics, accurate for maps with a large offset).

#include <string>

#include "mmm/compose/module_base.hpp"
#include "mmm/core/errors.hpp"
#include "mmm/kernels/channels.hpp"
#include "mmm/layers/norm.hpp"

namespace mmm {

template <index Groups, index C, Norm N = Norm{}>
class GroupNorm : public ModuleBase<GroupNorm<Groups, C, N>, Takes<Map<C>, Map<C>>> {
  static_assert(Groups > 0 && C > 0 && N.eps >= 0, "GroupNorm<Groups, C>: sizes must be positive and eps not negative");
  static_assert(C % Groups == 0, "GroupNorm<Groups, C>: the channels must divide into the groups evenly (C % Groups == 0)");

 public:
  static std::string name() {
    return "GroupNorm<" + std::to_string(Groups) + ", " + detail::norm_name("", C, N).substr(1);
  }

  static void parameters(auto& self, auto&& p) { Affine::parameters(self.affine_, p); }

  Map<C> forward(const Map<C>& x, Workspace& ws) const {
    if (x.height <= 0 || x.width <= 0)
      throw ShapeError(name() + ": a " + std::to_string(x.height) + "×" + std::to_string(x.width) +
                       " map has no positions to normalize over");
    float* y = ws.allocate<float>(x.numel());
    kernels::group_norm(x.data, y, x.batch, C, x.height * x.width, Groups, affine_.weight.data(), affine_.bias.data(), N.eps);
    return same_shape(x, y);
  }

 private:
  using Affine = detail::NormAffine<C, N>;
  Affine affine_;
};

}  // namespace mmm
