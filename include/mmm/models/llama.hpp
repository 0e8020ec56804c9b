#pragma once
// Llama<LlamaConfig{…}>: a LLaMA style language model (Touvron et al. 2023): token
// embedding embed_tokens [Vocab, D], `layers` LlamaBlocks (RMSNorm, grouped-query attention
// with a rotary embedding and no biases, SwiGLU MLP of `hidden`), a final RMSNorm `norm`
// and an untied head lm_head [Vocab, D]. No learned positions: RoPE places the tokens.
// state_dict names: embed_tokens.weight, layers.<i>.input_layernorm.weight,
// layers.<i>.self_attn.q_proj.weight, …, norm.weight, lm_head.weight (Hugging Face's, with
// its "model." prefix on all but lm_head; tools/reference/decoder_blocks.py is the reference).
// Tokens → Seq<Vocab>; forward, make_cache, step and step_last as CausalLM documents.

#include <string>

#include "mmm/layers/decoder_block.hpp"
#include "mmm/layers/norm.hpp"
#include "mmm/models/causal_lm.hpp"

namespace mmm {

struct LlamaConfig {
  index vocab = 32000;
  index dim = 4096;
  index heads = 32;
  index kv_heads = 32;
  index hidden = 11008;
  index layers = 32;
  float eps = 1e-6f;
  float rope_theta = 10000.0f;
  index max_positions = 4096;
};

namespace detail {
template <LlamaConfig C>
struct LlamaSpec {
  static constexpr index vocab = C.vocab, dim = C.dim, layers = C.layers, positions = 0;
  static constexpr bool tied = false;
  using Block = LlamaBlock<C.dim, C.heads, C.kv_heads, C.hidden, Rope{.theta = C.rope_theta, .max_positions = C.max_positions},
                           Norm{.eps = C.eps}>;
  using FinalNorm = RMSNorm<C.dim, Norm{.eps = C.eps}>;
  static constexpr const char *embed_name = "embed_tokens", *positions_name = "", *blocks_name = "layers",
                              *norm_name = "norm", *head_name = "lm_head";
  static std::string name() {
    return "Llama<vocab " + std::to_string(C.vocab) + ", dim " + std::to_string(C.dim) + ", heads " +
           std::to_string(C.heads) + "/" + std::to_string(C.kv_heads) + ", hidden " + std::to_string(C.hidden) +
           ", layers " + std::to_string(C.layers) + ">";
  }
};
}  // namespace detail

template <LlamaConfig C = LlamaConfig{}>
using Llama = CausalLM<detail::LlamaSpec<C>>;

}  // namespace mmm
