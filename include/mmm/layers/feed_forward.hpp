#pragma once
// FeedForward<D, Hidden, FF{…}>: a transformer's position-wise MLP over the last dimension of
// Feat<D> or Seq<D>, giving the same kind:
//   y = act(x·W1ᵀ + b1)·W2ᵀ + b2                          (torch's TransformerEncoderLayer, GPT-2)
//   y = (act(x·W_gateᵀ) ⊙ (x·W_upᵀ))·W_downᵀ              gated (SwiGLU with silu: LLaMA; GeGLU with gelu)
// Options: activation (relu, gelu, gelu_tanh, silu, …), gated, bias, and the state_dict
// names of the parameters:
//   torch  linear1.weight [Hidden, D], linear1.bias, linear2.weight [D, Hidden], linear2.bias
//          (the names torch's transformer layers give them, one level up: the layer lists
//          its FeedForward as an unnamed child)
//   gpt2   c_fc.weight, c_fc.bias, c_proj.weight, c_proj.bias
//   llama  gate_proj.weight [Hidden, D], up_proj.weight [Hidden, D], down_proj.weight [D, Hidden]
//          (+ .bias each with bias)
// The activation runs in the first GEMM's epilogue; a residual (a layer's x + ff(x)) in the
// second's (forward_residual). The gated form packs gate and up as one weight.

#include <string>

#include "mmm/compose/module_base.hpp"
#include "mmm/core/checked.hpp"
#include "mmm/kernels/gemm.hpp"
#include "mmm/kernels/math.hpp"
#include "mmm/layers/gemm_weights.hpp"

namespace mmm {

enum class FFNames : std::uint8_t { torch, gpt2, llama };

struct FF {
  kernels::Activation activation = kernels::Activation::relu;
  bool gated = false;
  bool bias = true;
  FFNames names = FFNames::torch;
};

template <index D, index Hidden, FF F = FF{}>
class FeedForward : public ModuleBase<FeedForward<D, Hidden, F>, Rows<D, D>> {
  static_assert(D > 0 && Hidden > 0, "FeedForward<D, Hidden>: sizes must be positive");
  static_assert(F.gated == (F.names == FFNames::llama),
                "FeedForward: the gated form has LLaMA's names (gate_proj, up_proj, down_proj), and only it");

 public:
  static constexpr index hidden = Hidden;
  static std::string name() {
    return "FeedForward<" + std::to_string(D) + ", " + std::to_string(Hidden) + ", " +
           std::string(kernels::name(F.activation)) + (F.gated ? ", gated" : "") + (F.bias ? "" : ", no bias") + ">";
  }

  FeedForward() : in_(Shape{F.gated ? 2 * Hidden : Hidden, D}), out_(Shape{D, Hidden}) {
    if constexpr (F.gated) {
      gate_w_ = Tensor(Shape{Hidden, D});
      up_w_ = Tensor(Shape{Hidden, D});
      if constexpr (F.bias) {
        gate_b_ = Tensor(Shape{Hidden});
        up_b_ = Tensor(Shape{Hidden});
      }
    }
  }

  static void parameters(auto& self, auto&& p) {
    if constexpr (F.names == FFNames::torch) {
      p("linear1", self.in_);
      p("linear2", self.out_);
    } else if constexpr (F.names == FFNames::gpt2) {
      p("c_fc", self.in_);
      p("c_proj", self.out_);
    } else {
      p("gate_proj.weight", self.gate_w_);
      if constexpr (F.bias) p("gate_proj.bias", self.gate_b_);
      p("up_proj.weight", self.up_w_);
      if constexpr (F.bias) p("up_proj.bias", self.up_b_);
      p("down_proj", self.out_);
    }
  }

  // The gated form joins gate and up into the first GEMM's weight: [gate; up].
  void prepare() {
    this->prepare_children();
    if constexpr (F.gated) {  // in_ is not in the parameter list: joined and packed here
      std::copy_n(gate_w_.data(), Hidden * D, in_.weight.data());
      std::copy_n(up_w_.data(), Hidden * D, in_.weight.data() + Hidden * D);
      if constexpr (F.bias) {
        std::copy_n(gate_b_.data(), Hidden, in_.bias.data());
        std::copy_n(up_b_.data(), Hidden, in_.bias.data() + Hidden);
      }
      in_.prepare();
    }
  }

  template <RowKindOf<D> K>
  K forward(const K& x, Workspace& ws) const {
    return forward_residual(x, nullptr, ws);
  }

  // y = residual + ff(x), residual rows of D (null: none).
  template <RowKindOf<D> K>
  K forward_residual(const K& x, const float* residual, Workspace& ws) const {
    const index rows = x.rows();
    constexpr index width = F.gated ? 2 * Hidden : Hidden;
    float* y = ws.allocate<float>(checked_mul(rows, D, "FeedForward"));
    const Workspace::Mark scratch = ws.mark();
    float* h = ws.allocate<float>(checked_mul(rows, width, "FeedForward"));
    if constexpr (F.gated) {
      kernels::gemm(rows, x.data, D, in_.template packed<FeedForward>(), h, width, in_.epilogue(kernels::Activation::none));
      for (index r = 0; r < rows; ++r) {
        float* gate = h + r * width;
        kernels::apply(F.activation, gate, gate, Hidden);
        kernels::mul(gate, gate + Hidden, gate, Hidden);
      }
    } else {
      kernels::gemm(rows, x.data, D, in_.template packed<FeedForward>(), h, width, in_.epilogue(F.activation));
    }
    kernels::Epilogue ep = out_.epilogue(kernels::Activation::none);
    ep.residual = residual;
    ep.ld_residual = D;
    kernels::gemm(rows, h, width, out_.template packed<FeedForward>(), y, D, ep);
    ws.release(scratch);
    return same_shape(x, y);
  }

 private:
  GemmWeights<F.bias> in_;   // [Hidden, D], or gated [gate; up] = [2·Hidden, D] (filled by prepare)
  GemmWeights<F.bias> out_;  // [D, Hidden]
  Tensor gate_w_, up_w_, gate_b_, up_b_;  // the gated form's weights as torch names them
};

}  // namespace mmm
