#pragma once
// Transformer layers and their stacks, as torch.nn's (batch_first=True, eval mode):
//
//   TransformerEncoderLayer<D, Heads, FFDim, Layer{…}>   Seq<D> → Seq<D>
//     norm_first = false:  x = norm1(x + self_attn(x));  x = norm2(x + ff(x))
//     norm_first = true:   x = x + self_attn(norm1(x));  x = x + ff(norm2(x))
//   TransformerDecoderLayer<D, Heads, FFDim, Layer{…}>   Branches<Seq<D>, Seq<D>> (tgt, memory) → Seq<D>
//     the same with a cross-attention block, multihead_attn(x, memory), between them (norm2;
//     the feed-forward block's norm is norm3)
//   TransformerEncoder<EncoderLayer, N, FinalNorm = void>  layers.0 … layers.N−1, then norm
//   TransformerDecoder<DecoderLayer, N, FinalNorm = void>  the same, with incremental decoding
//
// Parameters have torch's names: self_attn.in_proj_weight, self_attn.out_proj.weight,
// multihead_attn.*, linear1.*, linear2.*, norm1.*, norm2.*, norm3.*, and in the stacks
// layers.<i>.* and norm.* (FinalNorm, e.g. LayerNorm<D>). Layer options: activation (relu
// or gelu, torch's two; any of kernels::Activation), norm_first, eps (layer_norm_eps), and
// causal (a decoder's self-attention always causal, as a tgt_mask of −inf above the
// diagonal would make it). Masks go in as AttentionOptions (torch's src_mask,
// src_key_padding_mask, is_causal; for the decoder, DecoderMasks); a Seq's lengths mask its
// padding. Each residual add runs in the epilogue of the GEMM before it.
//
// Incremental decoding: make_cache(batch, capacity, memory_capacity) gives the KVCache a
// TransformerDecoder steps with; set_memory(memory, cache, ws) projects the memory once per
// source; step(tgt, cache, ws) runs the new positions of each row (tgt's lengths: how many
// per row) through every layer, causally over all that is cached, and appends them.

#include <array>
#include <string>
#include <type_traits>

#include "mmm/compose/module_base.hpp"
#include "mmm/generate/kv_cache.hpp"
#include "mmm/layers/attention.hpp"
#include "mmm/layers/decoder_stack.hpp"
#include "mmm/layers/feed_forward.hpp"
#include "mmm/layers/norm.hpp"

namespace mmm {

struct Layer {
  kernels::Activation activation = kernels::Activation::relu;
  bool norm_first = false;
  float eps = 1e-5f;
  bool causal = false;
};

// torch's TransformerDecoderLayer.forward masks: tgt_mask, tgt_key_padding_mask, tgt_is_causal
// (as .tgt) and memory_mask, memory_key_padding_mask (as .memory).
struct DecoderMasks {
  AttentionOptions tgt = {};
  AttentionOptions memory = {};
};

namespace detail {
inline std::string layer_name(const char* kind, index d, index heads, index ff, Layer l) {
  return std::string(kind) + "<" + std::to_string(d) + ", " + std::to_string(heads) + ", " + std::to_string(ff) + ", " +
         std::string(kernels::name(l.activation)) + (l.norm_first ? ", norm first" : "") + (l.causal ? ", causal" : "") + ">";
}
inline AttentionOptions without_weights(AttentionOptions o) {
  o.need_weights = false;
  return o;
}
}  // namespace detail

template <index D, index Heads, index FFDim = 2048, Layer L = Layer{}>
class TransformerEncoderLayer : public ModuleBase<TransformerEncoderLayer<D, Heads, FFDim, L>, Takes<Seq<D>, Seq<D>>> {
  using SelfAttention = Attention<D, Heads, Attn{.causal = L.causal}>;
  using Normalize = LayerNorm<D, Norm{.eps = L.eps}>;
  using MLP = FeedForward<D, FFDim, FF{.activation = L.activation}>;

 public:
  static constexpr index features = D;
  static std::string name() { return detail::layer_name("TransformerEncoderLayer", D, Heads, FFDim, L); }

  static void parameters(auto& self, auto&& p) {
    p("self_attn", self.self_attn_);
    p(self.ff_);  // linear1, linear2
    p("norm1", self.norm1_);
    p("norm2", self.norm2_);
  }

  Seq<D> forward(const Seq<D>& x, Workspace& ws) const { return forward(x, AttentionOptions{}, ws); }

  // src_mask, src_key_padding_mask and is_causal as AttentionOptions.
  Seq<D> forward(const Seq<D>& x, const AttentionOptions& masks, Workspace& ws) const {
    const AttentionOptions o = detail::without_weights(masks);
    const Workspace::Mark start = ws.mark();
    if constexpr (L.norm_first) {
      const Seq<D> a = self_attn_.self_attention(norm1_.forward(x, ws), o, ws, x.data).output;
      ws.release_except(start, a);
      const Seq<D> y = ff_.forward_residual(norm2_.forward(a, ws), a.data, ws);
      ws.release_except(start, y);
      return y;
    } else {
      const Seq<D> a = norm1_.forward(self_attn_.self_attention(x, o, ws, x.data).output, ws);
      ws.release_except(start, a);
      const Seq<D> y = norm2_.forward(ff_.forward_residual(a, a.data, ws), ws);
      ws.release_except(start, y);
      return y;
    }
  }

 private:
  SelfAttention self_attn_;
  MLP ff_;
  Normalize norm1_, norm2_;
};

template <index D, index Heads, index FFDim = 2048, Layer L = Layer{}>
class TransformerDecoderLayer : public ModuleBase<TransformerDecoderLayer<D, Heads, FFDim, L>,
                                                  Takes<Branches<Seq<D>, Seq<D>>, Seq<D>>> {
  using SelfAttention = Attention<D, Heads, Attn{.causal = L.causal}>;
  using CrossAttention = Attention<D, Heads>;
  using Normalize = LayerNorm<D, Norm{.eps = L.eps}>;
  using MLP = FeedForward<D, FFDim, FF{.activation = L.activation}>;

 public:
  static constexpr index features = D;
  static constexpr index heads = Heads;
  static constexpr index head_dim = D / Heads;
  static std::string name() { return detail::layer_name("TransformerDecoderLayer", D, Heads, FFDim, L); }

  static void parameters(auto& self, auto&& p) {
    p("self_attn", self.self_attn_);
    p("multihead_attn", self.cross_attn_);
    p(self.ff_);
    p("norm1", self.norm1_);
    p("norm2", self.norm2_);
    p("norm3", self.norm3_);
  }

  Seq<D> forward(const Branches<Seq<D>, Seq<D>>& in, Workspace& ws) const {
    return forward(in.template get<0>(), in.template get<1>(), DecoderMasks{}, ws);
  }

  Seq<D> forward(const Seq<D>& tgt, const Seq<D>& memory, const DecoderMasks& masks, Workspace& ws) const {
    const AttentionOptions self_masks = detail::without_weights(masks.tgt);
    const AttentionOptions memory_masks = detail::without_weights(masks.memory);
    return run(tgt, ws,
               [&](const Seq<D>& x, const float* residual) {
                 return self_attn_.self_attention(x, self_masks, ws, residual).output;
               },
               [&](const Seq<D>& x, const float* residual) {
                 return cross_attn_.cross_attention(x, memory, memory, memory_masks, ws, residual).output;
               });
  }

  // One decoder step of layer `layer` (see TransformerDecoder::step).
  Seq<D> step(const Seq<D>& x, KVCache& cache, index layer, Workspace& ws) const {
    return run(x, ws, [&](const Seq<D>& q, const float* residual) { return self_attn_.step(q, cache, layer, ws, residual); },
               [&](const Seq<D>& q, const float* residual) {
                 return cross_attn_.step_cross(q, cache, layer, ws, residual);
               });
  }
  void cache_memory(const Seq<D>& memory, KVCache& cache, index layer, Workspace& ws) const {
    cross_attn_.cache_memory(memory, cache, layer, ws);
  }

 private:
  // The three blocks in torch's order, each residual add in its last GEMM.
  template <class SelfBlock, class CrossBlock>
  Seq<D> run(const Seq<D>& x, Workspace& ws, SelfBlock&& self_block, CrossBlock&& cross_block) const {
    const Workspace::Mark start = ws.mark();
    auto keep = [&](const Seq<D>& y) {
      ws.release_except(start, y);
      return y;
    };
    if constexpr (L.norm_first) {
      const Seq<D> a = keep(self_block(norm1_.forward(x, ws), x.data));
      const Seq<D> c = keep(cross_block(norm2_.forward(a, ws), a.data));
      return keep(ff_.forward_residual(norm3_.forward(c, ws), c.data, ws));
    } else {
      const Seq<D> a = keep(norm1_.forward(self_block(x, x.data), ws));
      const Seq<D> c = keep(norm2_.forward(cross_block(a, a.data), ws));
      return keep(norm3_.forward(ff_.forward_residual(c, c.data, ws), ws));
    }
  }

  SelfAttention self_attn_;
  CrossAttention cross_attn_;
  MLP ff_;
  Normalize norm1_, norm2_, norm3_;
};

template <class EncoderLayer, index N, class FinalNorm = void>
class TransformerEncoder : public ModuleBase<TransformerEncoder<EncoderLayer, N, FinalNorm>,
                                             Takes<Seq<EncoderLayer::features>, Seq<EncoderLayer::features>>> {
  static_assert(N > 0, "TransformerEncoder: at least one layer");
  static constexpr index D = EncoderLayer::features;

 public:
  static std::string name() {
    return "TransformerEncoder<" + EncoderLayer::name() + " × " + std::to_string(N) +
           detail::final_norm_suffix<FinalNorm>() + ">";
  }

  static void parameters(auto& self, auto&& p) {
    for (index i = 0; i < N; ++i) p("layers." + std::to_string(i), self.layers_[static_cast<std::size_t>(i)]);
    if constexpr (!std::is_void_v<FinalNorm>) p("norm", self.norm_);
  }

  Seq<D> forward(const Seq<D>& x, Workspace& ws) const { return forward(x, AttentionOptions{}, ws); }
  Seq<D> forward(const Seq<D>& x, const AttentionOptions& masks, Workspace& ws) const {
    const Workspace::Mark start = ws.mark();
    Seq<D> y = x;
    for (const EncoderLayer& layer : layers_) {
      y = layer.forward(y, masks, ws);
      ws.release_except(start, y);
    }
    return detail::final_norm(norm_, y, ws, start);
  }

 private:
  std::array<EncoderLayer, N> layers_;
  detail::OptionalNorm<FinalNorm> norm_;
};

template <class DecoderLayer, index N, class FinalNorm = void>
class TransformerDecoder : public ModuleBase<TransformerDecoder<DecoderLayer, N, FinalNorm>,
                                             Takes<Branches<Seq<DecoderLayer::features>, Seq<DecoderLayer::features>>,
                                                   Seq<DecoderLayer::features>>> {
  static_assert(N > 0, "TransformerDecoder: at least one layer");
  static constexpr index D = DecoderLayer::features;

 public:
  static std::string name() {
    return "TransformerDecoder<" + DecoderLayer::name() + " × " + std::to_string(N) +
           detail::final_norm_suffix<FinalNorm>() + ">";
  }

  static void parameters(auto& self, auto&& p) {
    for (index i = 0; i < N; ++i) p("layers." + std::to_string(i), self.layers_[static_cast<std::size_t>(i)]);
    if constexpr (!std::is_void_v<FinalNorm>) p("norm", self.norm_);
  }

  Seq<D> forward(const Branches<Seq<D>, Seq<D>>& in, Workspace& ws) const {
    return forward(in.template get<0>(), in.template get<1>(), DecoderMasks{}, ws);
  }
  Seq<D> forward(const Seq<D>& tgt, const Seq<D>& memory, const DecoderMasks& masks, Workspace& ws) const {
    const Workspace::Mark start = ws.mark();
    Seq<D> y = tgt;
    for (const DecoderLayer& layer : layers_) {
      y = layer.forward(y, memory, masks, ws);
      ws.release_except(start, y);
    }
    return detail::final_norm(norm_, y, ws, start);
  }

  // A cache for `batch` rows of up to `capacity` positions, over memories of up to
  // memory_capacity positions.
  KVCache make_cache(index batch, index capacity, index memory_capacity) const {
    return KVCache({N, DecoderLayer::heads, DecoderLayer::head_dim, N}, batch, capacity, memory_capacity);
  }
  // Each row's memory (one item per row in use), projected once for every layer.
  void set_memory(const Seq<D>& memory, KVCache& cache, Workspace& ws) const {
    for (index i = 0; i < N; ++i) layers_[static_cast<std::size_t>(i)].cache_memory(memory, cache, i, ws);
  }
  // Row b's first tgt.valid_length(b) positions are its next ones: they attend to all the
  // row has cached and to each other (causally) and are appended. Gives their outputs
  // (padding steps: unspecified values). A module's forward: it does not reset the
  // Workspace, so a model around it (embedding, head) can keep its own buffers; whoever
  // runs the generation loop resets it between steps.
  Seq<D> step(const Seq<D>& tgt, KVCache& cache, Workspace& ws) const {
    return detail::step_layers(layers_, tgt, cache, ws, &name, [&](const Seq<D>& y, Workspace& w, Workspace::Mark start) {
      return detail::final_norm(norm_, y, w, start);
    });
  }

 private:
  std::array<DecoderLayer, N> layers_;
  detail::OptionalNorm<FinalNorm> norm_;
};

}  // namespace mmm
