#pragma once
// The decoder-only transformer block in the two styles users bring, both pre-norm:
//   x = x + attn(norm1(x));  x = x + mlp(norm2(x))
//
//   GPT2Block<D, Heads, Hidden = 4·D, Norm>      GPT-2: LayerNorm, causal attention with GPT-2's
//                                                fused c_attn, GELU (tanh) MLP. Names: ln_1,
//                                                attn.c_attn, attn.c_proj, ln_2, mlp.c_fc, mlp.c_proj
//   LlamaBlock<D, Heads, KVHeads, Hidden, Rope, Norm>
//                                                LLaMA: RMSNorm, causal grouped-query attention
//                                                with a rotary embedding and no biases, SwiGLU
//                                                MLP. Names: input_layernorm, self_attn.q_proj,
//                                                .k_proj, .v_proj, .o_proj,
//                                                post_attention_layernorm, mlp.gate_proj,
//                                                .up_proj, .down_proj
//
// Seq<D> → Seq<D> over a whole sequence (its lengths mask padded keys), or step() with a
// KVCache. tools/reference/decoder_blocks.py has both in PyTorch with these names.

#include <string>

#include "mmm/compose/module_base.hpp"
#include "mmm/generate/kv_cache.hpp"
#include "mmm/layers/attention.hpp"
#include "mmm/layers/feed_forward.hpp"
#include "mmm/layers/norm.hpp"

namespace mmm {

namespace detail {
struct GPT2BlockNames {
  static constexpr const char *style = "GPT2Block", *norm1 = "ln_1", *attn = "attn", *norm2 = "ln_2", *mlp = "mlp";
};
struct LlamaBlockNames {
  static constexpr const char *style = "LlamaBlock", *norm1 = "input_layernorm", *attn = "self_attn",
                              *norm2 = "post_attention_layernorm", *mlp = "mlp";
};
}  // namespace detail

template <class Names, class Normalize, class SelfAttention, class MLP>
class PreNormDecoderBlock : public ModuleBase<PreNormDecoderBlock<Names, Normalize, SelfAttention, MLP>,
                                              Takes<Seq<SelfAttention::heads * SelfAttention::head_dim>,
                                                    Seq<SelfAttention::heads * SelfAttention::head_dim>>> {
  static constexpr index D = SelfAttention::heads * SelfAttention::head_dim;
  static_assert(SelfAttention::causal, "a decoder block's attention is causal");

 public:
  static constexpr index features = D;
  static constexpr index kv_heads = SelfAttention::kv_heads;
  static constexpr index head_dim = SelfAttention::head_dim;

  static std::string name() {
    return std::string(Names::style) + "<" + Normalize::name() + ", " + SelfAttention::name() + ", " + MLP::name() + ">";
  }

  static void parameters(auto& self, auto&& p) {
    p(Names::norm1, self.norm1_);
    p(Names::attn, self.attn_);
    p(Names::norm2, self.norm2_);
    p(Names::mlp, self.mlp_);
  }

  Seq<D> forward(const Seq<D>& x, Workspace& ws) const {
    return run(x, ws, [&](const Seq<D>& h, const float* residual) {
      return attn_.self_attention(h, AttentionOptions{}, ws, residual).output;
    });
  }

  // One decoder step of layer `layer` of a stack (between the cache's begin_step and
  // commit_step).
  Seq<D> step(const Seq<D>& x, KVCache& cache, index layer, Workspace& ws) const {
    return run(x, ws, [&](const Seq<D>& h, const float* residual) { return attn_.step(h, cache, layer, ws, residual); });
  }

 private:
  template <class Attend>
  Seq<D> run(const Seq<D>& x, Workspace& ws, Attend&& attend) const {
    const Workspace::Mark start = ws.mark();
    const Seq<D> a = attend(norm1_.forward(x, ws), x.data);
    ws.release_except(start, a);
    const Seq<D> y = mlp_.forward_residual(norm2_.forward(a, ws), a.data, ws);
    ws.release_except(start, y);
    return y;
  }

  Normalize norm1_;
  SelfAttention attn_;
  Normalize norm2_;
  MLP mlp_;
};

template <index D, index Heads, index Hidden = 4 * D, Norm N = Norm{}>
using GPT2Block =
    PreNormDecoderBlock<detail::GPT2BlockNames, LayerNorm<D, N>, Attention<D, Heads, Attn{.causal = true, .names = AttnNames::gpt2}>,
                        FeedForward<D, Hidden, FF{.activation = kernels::Activation::gelu_tanh, .names = FFNames::gpt2}>>;

template <index D, index Heads, index KVHeads, index Hidden, Rope R = Rope{.theta = 10000.0f}, Norm N = Norm{.eps = 1e-6f}>
using LlamaBlock = PreNormDecoderBlock<
    detail::LlamaBlockNames, RMSNorm<D, N>,
    Attention<D, Heads, Attn{.kv_heads = KVHeads, .bias = false, .causal = true, .rope = R, .names = AttnNames::llama}>,
    FeedForward<D, Hidden, FF{.activation = kernels::Activation::silu, .gated = true, .bias = false, .names = FFNames::llama}>>;

}  // namespace mmm
