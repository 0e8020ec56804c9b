#pragma once
// ResNet's residual blocks as torchvision.models.resnet defines them, with its state_dict
// names (conv1, bn1, conv2, bn2, conv3, bn3, downsample.0, downsample.1):
//   BasicBlock<In, Planes, Stride>   relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))
//                                    conv1 3×3/Stride In→Planes, conv2 3×3 Planes→Planes
//   Bottleneck<In, Planes, Stride>   relu(bn3(conv3(relu(bn2(conv2(relu(bn1(conv1(x)))))))) + shortcut(x))
//                                    conv1 1×1 In→Planes, conv2 3×3/Stride, conv3 1×1 →4·Planes
// Map<In> gives Map<Planes·expansion>. The shortcut is x itself, or, when the block changes
// the shape (Stride ≠ 1 or In ≠ Planes·expansion), `downsample`: a 1×1/Stride convolution
// and a BatchNorm, as torchvision's _make_layer builds it.
//
// Each BatchNorm is folded into the convolution before it at load, each ReLU is in that
// convolution's epilogue, and the last convolution adds the shortcut in its epilogue before
// its ReLU (compose/epilogue.hpp), so a block is its 2 or 3 convolutions (and the
// downsample's). As in Residual, x and the shortcut are the only activations kept while
// the body runs.

#include <string>
#include <type_traits>

#include "mmm/compose/epilogue.hpp"
#include "mmm/compose/module_base.hpp"
#include "mmm/compose/sequential.hpp"
#include "mmm/layers/batch_norm.hpp"
#include "mmm/layers/conv2d.hpp"
#include "mmm/layers/identity.hpp"

namespace mmm {

namespace detail {
// torchvision's conv3x3 and conv1x1: no bias, since a BatchNorm follows each.
template <index In, index Out, index Stride = 1>
using resnet_conv3x3 = Conv2D<In, Out, Conv{.kernel = 3, .stride = Stride, .pad = 1}, false>;
template <index In, index Out, index Stride = 1>
using resnet_conv1x1 = Conv2D<In, Out, Conv{.kernel = 1, .stride = Stride}, false>;

// The shortcut: nn.Sequential(conv1x1(In, Out, Stride), BatchNorm2d(Out)) when the block
// changes the shape, else x itself.
template <index In, index Out, index Stride>
using resnet_shortcut = std::conditional_t<Stride != 1 || In != Out,
                                           Sequential<resnet_conv1x1<In, Out, Stride>, BatchNorm2D<Out>>, Identity>;

inline std::string block_name(const char* kind, index in, index planes, index stride) {
  return std::string(kind) + "<" + std::to_string(in) + ", " + std::to_string(planes) +
         (stride != 1 ? ", stride " + std::to_string(stride) : "") + ">";
}
}  // namespace detail

template <index In, index Planes, index Stride = 1>
class BasicBlock : public ModuleBase<BasicBlock<In, Planes, Stride>, Takes<Map<In>, Map<Planes>>> {
  static_assert(In > 0 && Planes > 0 && Stride > 0, "BasicBlock<In, Planes, Stride>: sizes must be positive");

 public:
  static constexpr index expansion = 1;
  static constexpr index out_channels = Planes;
  static constexpr bool has_downsample = !std::is_same_v<detail::resnet_shortcut<In, Planes, Stride>, Identity>;

  static std::string name() { return detail::block_name("BasicBlock", In, Planes, Stride); }

  static void parameters(auto& self, auto&& p) {
    p("conv1", self.conv1_);
    p("bn1", self.bn1_);
    p("conv2", self.conv2_);
    p("bn2", self.bn2_);
    if constexpr (has_downsample) p("downsample", self.downsample_);
  }

  void prepare() {
    bn1_.fold_into(conv1_);
    bn2_.fold_into(conv2_);
    this->prepare_children();
  }

  Map<Planes> forward(const Map<In>& x, Workspace& ws) const {
    const Workspace::Mark start = ws.mark();
    const Map<Planes> shortcut = downsample_.forward(x, ws);
    ws.release_except(start, shortcut);
    const Map<Planes> h = conv1_.forward_fused(x, ws, kernels::Activation::relu);
    const Map<Planes> y = detail::forward_with_residual(conv2_, h, ws, kernels::Activation::relu, shortcut);
    ws.release_except(start, y);
    return y;
  }

 private:
  detail::resnet_conv3x3<In, Planes, Stride> conv1_;
  BatchNorm2D<Planes> bn1_;
  detail::resnet_conv3x3<Planes, Planes> conv2_;
  BatchNorm2D<Planes> bn2_;
  [[no_unique_address]] detail::resnet_shortcut<In, Planes, Stride> downsample_;
};

template <index In, index Planes, index Stride = 1>
class Bottleneck : public ModuleBase<Bottleneck<In, Planes, Stride>, Takes<Map<In>, Map<4 * Planes>>> {
  static_assert(In > 0 && Planes > 0 && Stride > 0, "Bottleneck<In, Planes, Stride>: sizes must be positive");

 public:
  static constexpr index expansion = 4;
  static constexpr index out_channels = 4 * Planes;
  static constexpr bool has_downsample = !std::is_same_v<detail::resnet_shortcut<In, 4 * Planes, Stride>, Identity>;

  static std::string name() { return detail::block_name("Bottleneck", In, Planes, Stride); }

  static void parameters(auto& self, auto&& p) {
    p("conv1", self.conv1_);
    p("bn1", self.bn1_);
    p("conv2", self.conv2_);
    p("bn2", self.bn2_);
    p("conv3", self.conv3_);
    p("bn3", self.bn3_);
    if constexpr (has_downsample) p("downsample", self.downsample_);
  }

  void prepare() {
    bn1_.fold_into(conv1_);
    bn2_.fold_into(conv2_);
    bn3_.fold_into(conv3_);
    this->prepare_children();
  }

  Map<4 * Planes> forward(const Map<In>& x, Workspace& ws) const {
    constexpr auto relu = kernels::Activation::relu;
    const Workspace::Mark start = ws.mark();
    const Map<4 * Planes> shortcut = downsample_.forward(x, ws);
    ws.release_except(start, shortcut);
    const Map<Planes> h1 = conv1_.forward_fused(x, ws, relu);
    const Map<Planes> h2 = conv2_.forward_fused(h1, ws, relu);
    ws.release_except(start, shortcut, h2);
    const Map<4 * Planes> y = detail::forward_with_residual(conv3_, h2, ws, relu, shortcut);
    ws.release_except(start, y);
    return y;
  }

 private:
  detail::resnet_conv1x1<In, Planes> conv1_;
  BatchNorm2D<Planes> bn1_;
  detail::resnet_conv3x3<Planes, Planes, Stride> conv2_;
  BatchNorm2D<Planes> bn2_;
  detail::resnet_conv1x1<Planes, 4 * Planes> conv3_;
  BatchNorm2D<4 * Planes> bn3_;
  [[no_unique_address]] detail::resnet_shortcut<In, 4 * Planes, Stride> downsample_;
};

}  // namespace mmm
