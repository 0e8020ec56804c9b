#pragma once
// ResNet-18/34/50 as torchvision.models.resnet18/34/50 build them (v1.5: a Bottleneck
// strides in its 3×3 convolution), loading torchvision's state_dict unchanged:
//   conv1.weight, bn1.{weight,bias,running_mean,running_var,num_batches_tracked},
//   layer1.0.conv1.weight, layer1.0.bn1.running_var, …, layer2.0.downsample.0.weight,
//   layer2.0.downsample.1.running_mean, …, fc.weight, fc.bias
// Map<3> (N×3×H×W, normalized as torchvision's weights expect) gives the logits, Feat<1000>:
//   conv1 7×7/2 → bn1 → relu → maxpool 3×3/2 → layer1…layer4 → avgpool → fc
// Any H×W of at least 1×1 after the five halvings works (224×224 gives a 7×7 last map).
// Two variants stop before the classifier, for captioners and other heads:
//   ResNet50FeatureMap  Map<2048>  layer4's map (7×7 for 224×224)
//   ResNet50Pooled      Feat<2048> that map averaged (avgpool + flatten)
// (and ResNet18/34FeatureMap, ResNet18/34Pooled with 512 channels). They load the same
// torchvision state_dict: fc.weight and fc.bias are accepted when present and not read.
//
// Every BatchNorm follows a convolution and is folded into it at load; every ReLU and every
// residual add is in a convolution's epilogue. What runs is the 20/36/53 convolutions, the
// max pool, the average pool and the classifier's GEMM.

#include <cstddef>
#include <string>
#include <type_traits>
#include <utility>

#include "mmm/compose/module_base.hpp"
#include "mmm/compose/sequential.hpp"
#include "mmm/layers/adaptive_pool2d.hpp"
#include "mmm/layers/linear.hpp"
#include "mmm/layers/pool2d.hpp"
#include "mmm/layers/pooling.hpp"
#include "mmm/models/resnet_blocks.hpp"

namespace mmm {

enum class ResNetOutput { logits, feature_map, pooled };

namespace detail {

// layerK of torchvision's _make_layer: Blocks blocks of Planes, the first one taking In
// channels with the given stride (and a downsample path when its shape changes).
template <template <index, index, index> class Block, index In, index Planes, index Stride, class Rest>
struct resnet_layer;
template <template <index, index, index> class Block, index In, index Planes, index Stride, std::size_t... Rest>
struct resnet_layer<Block, In, Planes, Stride, std::index_sequence<Rest...>> {
  static constexpr index out = Planes * Block<In, Planes, Stride>::expansion;
  template <std::size_t>
  using follower = Block<out, Planes, 1>;
  using type = Sequential<Block<In, Planes, Stride>, follower<Rest>...>;
};
template <template <index, index, index> class Block, index In, index Planes, index Stride, index Blocks>
using resnet_layer_t = typename resnet_layer<Block, In, Planes, Stride, std::make_index_sequence<Blocks - 1>>::type;

template <template <index, index, index> class Block, ResNetOutput Output, index Classes>
using resnet_output_t =
    std::conditional_t<Output == ResNetOutput::logits, Feat<Classes>,
                       std::conditional_t<Output == ResNetOutput::pooled, Feat<512 * Block<64, 64, 1>::expansion>,
                                          Map<512 * Block<64, 64, 1>::expansion>>>;

}  // namespace detail

// ResNet<Block, L1, L2, L3, L4>: torchvision's ResNet(block, [L1, L2, L3, L4]).
template <template <index, index, index> class Block, index L1, index L2, index L3, index L4,
          ResNetOutput Output = ResNetOutput::logits, index Classes = 1000>
class ResNet : public ModuleBase<ResNet<Block, L1, L2, L3, L4, Output, Classes>,
                                 Takes<Map<3>, detail::resnet_output_t<Block, Output, Classes>>> {
  static_assert(L1 > 0 && L2 > 0 && L3 > 0 && L4 > 0 && Classes > 0, "ResNet: every layer needs a block, and Classes > 0");
  static constexpr index expansion = Block<64, 64, 1>::expansion;

 public:
  static constexpr index features = 512 * expansion;  // layer4's channels
  static constexpr index depth = 2 + (L1 + L2 + L3 + L4) * (expansion == 1 ? 2 : 3);
  using Out = detail::resnet_output_t<Block, Output, Classes>;
  using Layer1 = detail::resnet_layer_t<Block, 64, 64, 1, L1>;
  using Layer2 = detail::resnet_layer_t<Block, 64 * expansion, 128, 2, L2>;
  using Layer3 = detail::resnet_layer_t<Block, 128 * expansion, 256, 2, L3>;
  using Layer4 = detail::resnet_layer_t<Block, 256 * expansion, 512, 2, L4>;

  static std::string name() {
    return "ResNet-" + std::to_string(depth) +
           (Output == ResNetOutput::feature_map ? " (feature map)"
            : Output == ResNetOutput::pooled    ? " (pooled features)"
            : Classes != 1000                   ? " (" + std::to_string(Classes) + " classes)"
                                                : "");
  }

  static void parameters(auto& self, auto&& p) {
    p("conv1", self.conv1_);
    p("bn1", self.bn1_);
    p("layer1", self.layer1_);
    p("layer2", self.layer2_);
    p("layer3", self.layer3_);
    p("layer4", self.layer4_);
    if constexpr (Output == ResNetOutput::logits) {
      p("fc", self.fc_);
    } else {
      p.unused("fc.weight");
      p.unused("fc.bias");
    }
  }

  void prepare() {
    bn1_.fold_into(conv1_);
    this->prepare_children();
  }

  Out forward(const Map<3>& x, Workspace& ws) const {
    const Workspace::Mark start = ws.mark();
    auto keep = [&](const auto& y) {  // frees what came before y (its input and their scratch)
      ws.release_except(start, y);
      return y;
    };
    const Map<64> stem = keep(conv1_.forward_fused(x, ws, kernels::Activation::relu));
    const Map<64> pooled_stem = keep(maxpool_.forward(stem, ws));
    const auto c2 = keep(layer1_.forward(pooled_stem, ws));
    const auto c3 = keep(layer2_.forward(c2, ws));
    const auto c4 = keep(layer3_.forward(c3, ws));
    const Map<features> c5 = keep(layer4_.forward(c4, ws));
    if constexpr (Output == ResNetOutput::feature_map) {
      return c5;
    } else {
      const Feat<features> pooled = keep(avgpool_.forward(c5, ws));
      if constexpr (Output == ResNetOutput::pooled)
        return pooled;
      else
        return keep(fc_.forward(pooled, ws));
    }
  }

 private:
  Conv2D<3, 64, Conv{.kernel = 7, .stride = 2, .pad = 3}, false> conv1_;
  BatchNorm2D<64> bn1_;
  MaxPool2D<Pool{.kernel = 3, .stride = 2, .padding = 1}> maxpool_;
  Layer1 layer1_;
  Layer2 layer2_;
  Layer3 layer3_;
  Layer4 layer4_;
  GlobalAvgPool avgpool_;  // AdaptiveAvgPool2d((1, 1)) and the flatten before fc
  [[no_unique_address]] std::conditional_t<Output == ResNetOutput::logits, Linear<features, Classes>, Identity> fc_;
};

using ResNet18 = ResNet<BasicBlock, 2, 2, 2, 2>;
using ResNet34 = ResNet<BasicBlock, 3, 4, 6, 3>;
using ResNet50 = ResNet<Bottleneck, 3, 4, 6, 3>;
using ResNet18FeatureMap = ResNet<BasicBlock, 2, 2, 2, 2, ResNetOutput::feature_map>;
using ResNet34FeatureMap = ResNet<BasicBlock, 3, 4, 6, 3, ResNetOutput::feature_map>;
using ResNet50FeatureMap = ResNet<Bottleneck, 3, 4, 6, 3, ResNetOutput::feature_map>;
using ResNet18Pooled = ResNet<BasicBlock, 2, 2, 2, 2, ResNetOutput::pooled>;
using ResNet34Pooled = ResNet<BasicBlock, 3, 4, 6, 3, ResNetOutput::pooled>;
using ResNet50Pooled = ResNet<Bottleneck, 3, 4, 6, 3, ResNetOutput::pooled>;

}  // namespace mmm
