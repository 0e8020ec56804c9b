#pragma once
// Transformer decoders on the decoder-step interface (generate/decoder.hpp), their state a
// KVCache (generate/kv_cache.hpp: paged keys and values; reorder() shares pages between
// beams and copies only the page a row writes next):
//
//   LanguageModelDecoder<LM>   a decoder-only model — GPT2<…>, Llama<…> (models/causal_lm.hpp) —
//                              as is: step() is the model's step_last(). Holds a reference
//                              to the model, which must outlive it.
//
//   CrossAttentionDecoder<Vocab, MaxLen, Layer, N, FinalNorm = LayerNorm<D>, MaxMemory = 256>
//                              a text decoder that attends to a memory (image patches, audio
//                              frames): a transformer captioner.
//       x = embedding(tokens) + positions[t]          Embedding<Vocab, D>, LearnedPositions<MaxLen, D>
//       y = decoder(x, memory)                        TransformerDecoder<Layer, N, FinalNorm>
//       logits = head(y)                              Linear<D, Vocab>
//     state_dict names embedding.weight, positions.weight, decoder.layers.<i>.* and
//     decoder.norm.* (torch.nn.TransformerDecoder's), head.weight, head.bias: a torch module
//     with those members loads as is (tools/mmm_decoders.py, TransformerCaptioner). Layer is a
//     TransformerDecoderLayer<D, Heads, FF, Layer{…, .causal = true}>. condition(state,
//     memory, ws) projects the memory's keys and values once per row (each memory item for
//     state.rows() / memory.batch consecutive rows: beams).
//
//   auto state = captioner.make_state(images * width, max_length, patches);
//   captioner.condition(state, image_tokens, ws);                    // Seq<D>, one item per image
//   generate::beam_search(captioner, state, bos, {.max_length = 32, .eos = 2, .width = width}, ws);

#include <algorithm>
#include <cstring>
#include <span>
#include <string>

#include "mmm/compose/module_base.hpp"
#include "mmm/core/errors.hpp"
#include "mmm/core/workspace.hpp"
#include "mmm/generate/kv_cache.hpp"
#include "mmm/layers/embedding.hpp"
#include "mmm/layers/linear.hpp"
#include "mmm/layers/norm.hpp"
#include "mmm/layers/positional.hpp"
#include "mmm/layers/transformer.hpp"

namespace mmm::generate {

// The state of a transformer decoder: its cache, and (for models whose step starts a new call
// on its Workspace) a Workspace of its own, whose logits the algorithm reads before the next step.
struct TransformerState {
  KVCache cache;
  Workspace ws;

  index rows() const noexcept { return cache.batch(); }
  index capacity() const noexcept { return cache.capacity(); }
  void reset() noexcept { cache.reset(); }
  void reorder(std::span<const index> sources) { cache.reorder(sources); }
};

template <class LM>
class LanguageModelDecoder {
 public:
  static constexpr index vocab_size = LM::vocab_size;
  using State = TransformerState;

  explicit LanguageModelDecoder(const LM& model) noexcept : model_(&model) {}

  State make_state(index rows, index capacity) const { return {model_->make_cache(rows, capacity), Workspace()}; }

  // The model's step resets the Workspace it is given: it gets the state's own.
  Feat<vocab_size> step(const Tokens& tokens, State& state, Workspace&) const {
    return model_->step_last(tokens, state.cache, state.ws);
  }

  const LM& model() const noexcept { return *model_; }

 private:
  const LM* model_;
};

template <index Vocab, index MaxLen, class Layer, index N, class FinalNorm = LayerNorm<Layer::features>,
          index MaxMemory = 256>
class CrossAttentionDecoder
    : public ModuleBase<CrossAttentionDecoder<Vocab, MaxLen, Layer, N, FinalNorm, MaxMemory>,
                        Takes<Tokens, Feat<Vocab>>> {
  static constexpr index D = Layer::features;

 public:
  static constexpr index vocab_size = Vocab;
  static constexpr index features = D;
  using State = TransformerState;

  static std::string name() {
    return "CrossAttentionDecoder<" + std::to_string(Vocab) + ", " + std::to_string(MaxLen) + ", " + Layer::name() +
           " × " + std::to_string(N) + ">";
  }

  static void parameters(auto& self, auto&& p) {
    p("embedding", self.embedding_);
    p("positions", self.positions_);
    p("decoder", self.decoder_);
    p("head", self.head_);
  }

  // `capacity` target positions per row (at most MaxLen), over memories of up to
  // memory_capacity positions.
  State make_state(index rows, index capacity, index memory_capacity) const {
    return {decoder_.make_cache(rows, std::min(capacity, MaxLen), memory_capacity), Workspace()};
  }
  State make_state(index rows, index capacity) const { return make_state(rows, capacity, MaxMemory); }

  // Each memory item for state.rows() / memory.batch consecutive rows; on a reset state.
  void condition(State& state, const Seq<D>& memory, Workspace& ws) const {
    const index rows = state.rows(), items = memory.batch;
    if (items <= 0 || rows % items != 0)
      throw ShapeError(name() + ": " + std::to_string(items) + " memory items for a state of " + std::to_string(rows) +
                       " rows; the rows must be a multiple of the items");
    const Workspace::Mark start = ws.mark();
    Seq<D> per_row = memory;
    if (rows != items) {
      const index k = rows / items, item_floats = memory.length * D;
      float* copy = ws.allocate<float>(checked_mul(rows, item_floats, "CrossAttentionDecoder::condition"));
      std::int32_t* lengths = memory.lengths ? ws.allocate<std::int32_t>(rows) : nullptr;
      for (index r = 0; r < rows; ++r) {
        std::memcpy(copy + r * item_floats, memory.data + (r / k) * item_floats, sizeof(float) * item_floats);
        if (lengths) lengths[r] = memory.lengths[r / k];
      }
      per_row = Seq<D>(copy, rows, memory.length, lengths);
    }
    decoder_.set_memory(per_row, state.cache, ws);
    ws.release(start);
  }

  Feat<Vocab> step(const Tokens& tokens, State& state, Workspace& ws) const {
    const Workspace::Mark start = ws.mark();
    const Seq<D> e = embedding_.forward(tokens, ws);
    const Seq<D> x = positions_.forward_at(e, state.cache.lengths().data(), tokens.lengths, ws);
    const Seq<D> y = decoder_.step(x, state.cache, ws);
    float* last = ws.allocate<float>(y.batch * D);
    for (index b = 0; b < y.batch; ++b)
      std::memcpy(last + b * D, y.data + (b * y.length + tokens.valid_length(b) - 1) * D, sizeof(float) * D);
    const Feat<Vocab> logits = head_.forward(Feat<D>(last, y.batch), ws);
    ws.release_except(start, logits);
    return logits;
  }

 private:
  Embedding<Vocab, D> embedding_;
  LearnedPositions<MaxLen, D> positions_;
  TransformerDecoder<Layer, N, FinalNorm> decoder_;
  Linear<D, Vocab> head_;
};

}  // namespace mmm::generate
