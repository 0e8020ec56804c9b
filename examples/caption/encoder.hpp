#pragma once
// The captioner's image encoder alone (tools/train_captioner.py's Encoder), for the models
// that reuse it without the captioner's decoder: the assistant freezes it
// (examples/assistant). caption.hpp is the whole captioner.

#include <string>

#include "mmm/compose/module_base.hpp"
#include "mmm/core/workspace.hpp"
#include "mmm/kernels/activation.hpp"
#include "mmm/layers/batch_norm.hpp"
#include "mmm/layers/conv2d.hpp"
#include "mmm/models/resnet_blocks.hpp"

namespace caption {

using mmm::index;

inline constexpr index image_size = 64;  // the model sees 64×64 RGB
inline constexpr index features = 128;   // the encoder's channels

// The CNN: tools/train_captioner.py's Encoder (conv1, bn1, layer1, layer2).
class Encoder : public mmm::ModuleBase<Encoder, mmm::Takes<mmm::Map<3>, mmm::Map<features>>> {
 public:
  static std::string name() { return "CaptionEncoder<conv 3→32 /2, BasicBlocks 64 /2, 128 /2>"; }

  static void parameters(auto& self, auto&& p) {
    p("conv1", self.conv1_);
    p("bn1", self.bn1_);
    p("layer1", self.layer1_);
    p("layer2", self.layer2_);
  }

  void prepare() {
    bn1_.fold_into(conv1_);
    this->prepare_children();
  }

  mmm::Map<features> forward(const mmm::Map<3>& x, mmm::Workspace& ws) const {
    const mmm::Workspace::Mark start = ws.mark();
    auto keep = [&](const auto& y) {
      ws.release_except(start, y);
      return y;
    };
    const mmm::Map<32> stem = keep(conv1_.forward_fused(x, ws, mmm::kernels::Activation::relu));
    const mmm::Map<64> c1 = keep(layer1_.forward(stem, ws));
    return keep(layer2_.forward(c1, ws));
  }

 private:
  mmm::Conv2D<3, 32, mmm::Conv{.kernel = 3, .stride = 2, .pad = 1}, false> conv1_;
  mmm::BatchNorm2D<32> bn1_;
  mmm::BasicBlock<32, 64, 2> layer1_;
  mmm::BasicBlock<64, features, 2> layer2_;
};

}  // namespace caption
