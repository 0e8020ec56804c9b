#pragma once
// CausalLM<Spec>: a decoder-only language model — token embedding (and learned positions),
// a stack of decoder blocks, a final norm and the vocabulary head — as GPT2<…>
// (models/gpt2.hpp) and Llama<…> (models/llama.hpp) define it. Takes Tokens, gives the
// logits of every position, Seq<Vocab>; each token sees itself and the tokens before it
// (the Tokens' lengths mask a batch's padding).
//
// Incremental decoding, the interface a generation loop uses:
//   KVCache cache = lm.make_cache(batch, capacity);
//   Seq<Vocab>  logits = lm.step(tokens, cache, ws);       // row b's first valid_length(b) tokens
//   Feat<Vocab> last   = lm.step_last(tokens, cache, ws);  // only each row's last new position
// A step appends each row's new tokens to its cached prefix (a prompt of any length, then
// one token at a time); its logits equal those of the full forward over the whole prefix.
// Rows may have prompts of different lengths (Tokens lengths), and cache.reorder() follows
// beams. Like lm(tokens, ws), a step starts a new call on the Workspace (resets it): its
// logits are valid until the next call. It allocates nothing once the Workspace has seen
// its shape.

#include <array>
#include <cstring>
#include <string>
#include <type_traits>

#include "mmm/compose/module_base.hpp"
#include "mmm/generate/kv_cache.hpp"
#include "mmm/kernels/gemm.hpp"
#include "mmm/layers/decoder_stack.hpp"
#include "mmm/layers/embedding.hpp"
#include "mmm/layers/linear.hpp"
#include "mmm/layers/positional.hpp"

namespace mmm {

// What a Spec gives: vocab, dim, layers, positions (learned positions, 0: none), tied (the
// head is the embedding's transpose), the Block and FinalNorm types, name(), and the
// state_dict names embed_name, positions_name, blocks_name, norm_name, head_name.
template <class Spec>
class CausalLM : public ModuleBase<CausalLM<Spec>, Takes<Tokens, Seq<Spec::vocab>>> {
  static constexpr index V = Spec::vocab, D = Spec::dim, L = Spec::layers;
  static constexpr bool learned_positions = Spec::positions > 0;
  using Block = typename Spec::Block;
  using Positions = std::conditional_t<learned_positions, LearnedPositions<(learned_positions ? Spec::positions : 1), D>, detail::NoNorm>;
  using Head = std::conditional_t<Spec::tied, detail::NoNorm, Linear<D, V, false>>;
  static_assert(Block::features == D, "CausalLM: the blocks' size must be the embedding's");

 public:
  static constexpr index vocab_size = V;
  static std::string name() { return Spec::name(); }

  static void parameters(auto& self, auto&& p) {
    p(Spec::embed_name, self.embed_);
    if constexpr (learned_positions) p(Spec::positions_name, self.positions_);
    for (index i = 0; i < L; ++i)
      p(std::string(Spec::blocks_name) + "." + std::to_string(i), self.blocks_[static_cast<std::size_t>(i)]);
    p(Spec::norm_name, self.norm_);
    if constexpr (!Spec::tied) p(Spec::head_name, self.head_);
  }

  void prepare() {
    this->prepare_children();
    if constexpr (Spec::tied) tied_ = kernels::PackedWeights::from_nk(embed_.weight().data(), V, D);
  }

  Seq<V> forward(const Tokens& tokens, Workspace& ws) const {
    const Workspace::Mark start = ws.mark();
    Seq<D> x = embed(tokens, nullptr, ws, start);
    for (const Block& block : blocks_) {
      x = block.forward(x, ws);
      ws.release_except(start, x);
    }
    return head(detail::final_norm(norm_, x, ws, start), ws, start);
  }

  KVCache make_cache(index batch, index capacity) const {
    return KVCache({L, Block::kv_heads, Block::head_dim, 0}, batch, capacity);
  }

  Seq<V> step(const Tokens& tokens, KVCache& cache, Workspace& ws) const {
    check_rows(tokens, cache);
    ws.reset();
    const Workspace::Mark start = ws.mark();
    const Seq<D> x = embed(tokens, cache.lengths().data(), ws, start);
    return detail::step_layers(blocks_, x, cache, ws, &name, [&](const Seq<D>& y, Workspace& w, Workspace::Mark m) {
      return head(detail::final_norm(norm_, y, w, m), w, m);
    });
  }

  // The logits of each row's last new position only (every row needs at least one).
  Feat<V> step_last(const Tokens& tokens, KVCache& cache, Workspace& ws) const {
    check_rows(tokens, cache);
    for (index b = 0; b < tokens.batch; ++b)
      if (tokens.valid_length(b) < 1)
        throw RangeError(name() + ": step_last needs a new token in every row; row " + std::to_string(b) + " has none");
    ws.reset();
    const Workspace::Mark start = ws.mark();
    const Seq<D> x = embed(tokens, cache.lengths().data(), ws, start);
    return detail::step_layers(blocks_, x, cache, ws, &name, [&](const Seq<D>& y, Workspace& w, Workspace::Mark m) {
      float* last = w.allocate<float>(y.batch * D);
      for (index b = 0; b < y.batch; ++b)
        std::memcpy(last + b * D, y.data + (b * y.length + y.valid_length(b) - 1) * D, sizeof(float) * D);
      const Feat<D> h(last, y.batch);
      w.release_except(m, h);
      return head(detail::final_norm(norm_, h, w, m), w, m);
    });
  }

 private:
  void check_rows(const Tokens& tokens, const KVCache& cache) const {
    if (tokens.batch != cache.batch())
      throw ShapeError(name() + ": the step has " + std::to_string(tokens.batch) + " rows but the cache has " +
                       std::to_string(cache.batch()) + " in use");
  }

  // Token embeddings, plus positions (from `offsets`: a step's cached lengths).
  Seq<D> embed(const Tokens& tokens, const std::int32_t* offsets, Workspace& ws, Workspace::Mark start) const {
    Seq<D> x = embed_.forward(tokens, ws);
    if constexpr (learned_positions) {
      x = positions_.forward_at(x, offsets, offsets ? tokens.lengths : nullptr, ws);
      ws.release_except(start, x);
    }
    return x;
  }

  template <class K>
  auto head(const K& h, Workspace& ws, Workspace::Mark start) const {
    if constexpr (Spec::tied) {
      float* logits = ws.allocate<float>(checked_mul(h.rows(), V, "CausalLM logits"));
      kernels::gemm(h.rows(), h.data, D, tied_, logits, V);
      const auto y = with_rows<V>(h, logits);
      ws.release_except(start, y);
      return y;
    } else {
      const auto y = head_.forward(h, ws);
      ws.release_except(start, y);
      return y;
    }
  }

  Embedding<V, D> embed_;
  Positions positions_;
  std::array<Block, L> blocks_;
  typename Spec::FinalNorm norm_;
  Head head_;
  kernels::PackedWeights tied_;
};

}  // namespace mmm
