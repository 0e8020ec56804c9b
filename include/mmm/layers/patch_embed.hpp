#pragma once
// PatchEmbedding<C, D, Patches{.size, .image, .class_token, .positions}>: a Vision
// Transformer's input (Dosovitskiy et al. 2020). Map<C> (N×C×H×W, H = W = image) → Seq<D>:
// the image cut into (image/size)² non-overlapping size×size patches, each projected to D —
// nn.Conv2d(C, D, kernel_size=size, stride=size) flattened to N×patches×D — then a learned
// class token in front and learned positions added:
//   y[b, 0] = cls_token + pos_embed[0],  y[b, 1 + i] = patch_i·Wᵀ + bias + pos_embed[1 + i]
// Parameters (timm's names): proj.weight [D, C, size, size], proj.bias [D],
// cls_token [1, 1, D], pos_embed [1, (class token) + patches, D].
//
// The convolution is a GEMM over gathered patches: each patch's C·size·size values in the
// weight's (channel, row, column) order, one row per patch, times the weight as a Linear's;
// the rows come out in Seq order (no NCHW round trip) and the positions are added in the
// GEMM's epilogue (as its residual).

#include <string>

#include "mmm/compose/module_base.hpp"
#include "mmm/core/checked.hpp"
#include "mmm/core/errors.hpp"
#include "mmm/kernels/gemm.hpp"
#include "mmm/layers/gemm_weights.hpp"

namespace mmm {

struct Patches {
  index size = 16;
  index image = 224;
  bool class_token = true;
  bool positions = true;
};

template <index C, index D, Patches P = Patches{}>
class PatchEmbedding : public ModuleBase<PatchEmbedding<C, D, P>, Takes<Map<C>, Seq<D>>> {
  static_assert(C > 0 && D > 0 && P.size > 0 && P.image > 0, "PatchEmbedding: sizes must be positive");
  static_assert(P.image % P.size == 0, "PatchEmbedding: the image side must be a whole number of patches");
  static constexpr index side = P.image / P.size;
  static constexpr index patch = C * P.size * P.size;
  static constexpr index cls = P.class_token ? 1 : 0;

 public:
  static constexpr index patches = side * side;
  static constexpr index tokens = cls + patches;

  static std::string name() {
    return "PatchEmbedding<" + std::to_string(C) + ", " + std::to_string(D) + ", patch " + std::to_string(P.size) +
           ", image " + std::to_string(P.image) + (P.class_token ? "" : ", no class token") +
           (P.positions ? "" : ", no positions") + ">";
  }

  PatchEmbedding() : proj_(Shape{D, C, P.size, P.size}) {
    if constexpr (P.class_token) cls_token_ = Tensor(Shape{1, 1, D});
    if constexpr (P.positions) pos_embed_ = Tensor(Shape{1, tokens, D});
  }

  static void parameters(auto& self, auto&& p) {
    p("proj", self.proj_);
    if constexpr (P.class_token) p("cls_token", self.cls_token_);
    if constexpr (P.positions) p("pos_embed", self.pos_embed_);
  }

  Seq<D> forward(const Map<C>& x, Workspace& ws) const {
    if (x.height != P.image || x.width != P.image)
      throw ShapeError(name() + ": the image is " + std::to_string(x.height) + "×" + std::to_string(x.width) +
                       ", the positions are for " + std::to_string(P.image) + "×" + std::to_string(P.image));
    const kernels::PackedWeights& w = proj_.template packed<PatchEmbedding>();
    float* y = ws.allocate<float>(checked_mul(x.batch * tokens, D, "PatchEmbedding"));
    const Workspace::Mark scratch = ws.mark();
    float* rows = ws.allocate<float>(checked_mul(x.batch * patches, patch, "PatchEmbedding"));
    gather(x, rows);
    kernels::Epilogue ep = proj_.epilogue(kernels::Activation::none);
    if constexpr (P.positions) {
      ep.residual = pos_embed_.data() + cls * D;
      ep.ld_residual = D;
    }
    for (index b = 0; b < x.batch; ++b) {
      float* out = y + b * tokens * D;
      kernels::gemm(patches, rows + b * patches * patch, patch, w, out + cls * D, D, ep);
      if constexpr (P.class_token) {
        for (index d = 0; d < D; ++d) out[d] = cls_token_[d] + (P.positions ? pos_embed_[d] : 0.0f);
      }
    }
    ws.release(scratch);
    return {y, x.batch, tokens};
  }

 private:
  // Row (b, py·side + px) = the patch's values in (channel, row, column) order.
  static void gather(const Map<C>& x, float* rows) {
    constexpr index S = P.size;
    const index plane = P.image * P.image;
    for (index b = 0; b < x.batch; ++b)
      for (index py = 0; py < side; ++py)
        for (index px = 0; px < side; ++px) {
          float* row = rows + ((b * side + py) * side + px) * patch;
          for (index c = 0; c < C; ++c) {
            const float* src = x.data + (b * C + c) * plane + py * S * P.image + px * S;
            for (index ky = 0; ky < S; ++ky) std::copy_n(src + ky * P.image, S, row + (c * S + ky) * S);
          }
        }
  }

  GemmWeights<true> proj_;
  Tensor cls_token_, pos_embed_;
};

}  // namespace mmm
