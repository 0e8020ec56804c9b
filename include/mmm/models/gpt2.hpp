#pragma once
// GPT2<GPT2Config{…}>: a GPT-2 style language model (Radford et al. 2019): token embedding
// wte [Vocab, D] plus learned positions wpe [Positions, D], `layers` GPT2Blocks (pre-norm,
// causal attention, GELU-tanh MLP of 4·D), a final LayerNorm ln_f, and logits from the
// token embedding again (tied input/output embedding: no separate head weight).
// state_dict names: wte.weight, wpe.weight, h.<i>.ln_1.weight, h.<i>.attn.c_attn.weight, …,
// ln_f.weight (nanoGPT's and Hugging Face's under their "transformer." prefix, with
// nn.Linear weights [out, in]; tools/reference/decoder_blocks.py is the reference).
// Tokens → Seq<Vocab>; forward, make_cache, step and step_last as CausalLM documents.

#include <string>

#include "mmm/layers/decoder_block.hpp"
#include "mmm/layers/norm.hpp"
#include "mmm/models/causal_lm.hpp"

namespace mmm {

struct GPT2Config {
  index vocab = 50257;
  index positions = 1024;
  index dim = 768;
  index heads = 12;
  index layers = 12;
  float eps = 1e-5f;
};

namespace detail {
template <GPT2Config C>
struct GPT2Spec {
  static constexpr index vocab = C.vocab, dim = C.dim, layers = C.layers, positions = C.positions;
  static constexpr bool tied = true;
  using Block = GPT2Block<C.dim, C.heads, 4 * C.dim, Norm{.eps = C.eps}>;
  using FinalNorm = LayerNorm<C.dim, Norm{.eps = C.eps}>;
  static constexpr const char *embed_name = "wte", *positions_name = "wpe", *blocks_name = "h", *norm_name = "ln_f",
                              *head_name = "";
  static std::string name() {
    return "GPT2<vocab " + std::to_string(C.vocab) + ", positions " + std::to_string(C.positions) + ", dim " +
           std::to_string(C.dim) + ", heads " + std::to_string(C.heads) + ", layers " + std::to_string(C.layers) + ">";
  }
};
}  // namespace detail

template <GPT2Config C = GPT2Config{}>
using GPT2 = CausalLM<detail::GPT2Spec<C>>;

}  // namespace mmm
