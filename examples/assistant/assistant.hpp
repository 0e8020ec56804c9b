#pragma once
// The multimodal assistant: an image and a question in, a free-text answer out ("what colour
// is the square?" → "the square is blue"). The model of tools/train_assistant.py, module for
// module (its state_dict loads as is), LLaVA-style: image tokens and question tokens in front
// of the answer's tokens in one sequence, a decoder-only transformer over all of it, and the
// answer decoded on mmm's decoder-step interface with a KV cache. Its methods are compiled once,
// in task.cpp (the library assistant_task, task.cmake), for that task (the assistant program and
// mmm-run; the full-set agreement run is examples/assistant/agreement.py), the parity test
// (tests/apps/assistant.cpp) and the application benchmark.
//
//   image tokens     encoder: the captioner's CNN (caption::Encoder, its trained weights),
//                    a 128×8×8 map; image_proj: its 2×2 patches merged, Conv2D 128→128
//                    kernel 2 stride 2; the 16 positions row by row (MapToSeq)
//   question tokens  question_embed Embedding(V, 64), question_lstm LSTM(64, 128), one
//                    output per word, question_proj Linear(128, 128)
//   sequence         SequenceJoin: [16 image tokens][question tokens][answer tokens], the
//                    answer's tokens embed (Embedding(V, 128)); pos, learned positions
//   decoder          blocks: 2 GPT2Blocks (D 128, 4 heads, causal self-attention, GELU MLP
//                    512), ln_f LayerNorm, head Linear(128, V)
//
// condition() runs the image and the question through the decoder once (the prefill: the
// KV cache then holds their keys and values); each answer token after that costs one
// position per layer.

#include <algorithm>
#include <array>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "../caption/encoder.hpp"
#include "mmm/compose/module_base.hpp"
#include "mmm/core/kinds.hpp"
#include "mmm/generate/beam_search.hpp"
#include "mmm/generate/conditioned_cache.hpp"
#include "mmm/generate/decoder.hpp"
#include "mmm/generate/greedy.hpp"
#include "mmm/generate/kv_cache.hpp"
#include "mmm/io/load.hpp"
#include "mmm/io/safetensors.hpp"
#include "mmm/layers/conv2d.hpp"
#include "mmm/layers/decoder_block.hpp"
#include "mmm/layers/decoder_stack.hpp"
#include "mmm/layers/embedding.hpp"
#include "mmm/layers/flatten.hpp"
#include "mmm/layers/linear.hpp"
#include "mmm/layers/lstm.hpp"
#include "mmm/layers/norm.hpp"
#include "mmm/layers/positional.hpp"
#include "mmm/layers/sequence_join.hpp"
#include "mmm/preprocess/image/image.hpp"

#include "../support/image_input.hpp"
#include "../support/metadata.hpp"
#include "question.hpp"

namespace assistant {

using mmm::index;

inline constexpr index image_size = caption::image_size;  // the model sees 64×64 RGB
inline constexpr index dim = 128;                          // D of every token
inline constexpr index heads = 4;
inline constexpr index layers = 2;
inline constexpr index word_dim = 64;                      // the question LSTM's input
inline constexpr index question_hidden = 128;              // and its state
inline constexpr index image_tokens = 16;                  // the encoder's 8×8 map in 2×2 patches
inline constexpr index vocab_size = 47;                    // tools/scenes.py vocabulary() + "colour"
inline constexpr index max_answer = 10;                    // <bos> + words + <eos>
inline constexpr index max_length = image_tokens + max_question + max_answer;  // the learned positions

class Assistant : public mmm::ModuleBase<Assistant, mmm::Takes<mmm::Map<3>, mmm::Seq<dim>>> {
  using Block = mmm::GPT2Block<dim, heads>;

 public:
  static constexpr index vocab_size = assistant::vocab_size;

  // Rows of answers in progress: the decoder's KVCache (keys and values of the image, the
  // question and the answer so far, per layer) and the row map condition() needs.
  using State = mmm::generate::ConditionedCache;

  static std::string name() {
    return "Assistant<" + caption::Encoder::name() + " in 2×2 patches, LSTM<64, 128> question, " + std::to_string(layers) +
           " × " + Block::name() + ">";
  }

  static void parameters(auto& self, auto&& p) {
    p("encoder", self.encoder_);
    p("image_proj", self.image_proj_);
    p("question_embed", self.question_embed_);
    p("question_lstm", self.question_lstm_);
    p("question_proj", self.question_proj_);
    p("embed", self.embed_);
    p("pos", self.pos_);
    for (index i = 0; i < layers; ++i) p("blocks." + std::to_string(i), self.blocks_[static_cast<std::size_t>(i)]);
    p("ln_f", self.ln_f_);
    p("head", self.head_);
  }

  // N images (N×3×64×64, normalized) → their N × 16 image tokens.
  mmm::Seq<dim> forward(const mmm::Map<3>& images, mmm::Workspace& ws) const;

  // N questions (word ids; Tokens lengths for rows of different lengths) → one token per word.
  mmm::Seq<dim> question_tokens(const mmm::Tokens& questions, mmm::Workspace& ws) const;

  // Each item's image tokens, then its question's tokens, packed (the lengths say how many).
  mmm::Seq<dim> prefix(const mmm::Map<3>& images, const mmm::Tokens& questions, mmm::Workspace& ws) const;

  // Teacher forcing, the training script's model.logits(prefix, lengths, answers, lengths):
  // the logits of every position of [prefix][answer tokens], each seeing those before it
  // (packed per item; the lengths of the result say how many positions are real).
  mmm::Seq<vocab_size> logits(const mmm::Seq<dim>& prefix, const mmm::Tokens& answers, mmm::Workspace& ws) const;

  // A state for `rows` sequences of up to `capacity` positions (prefix and answer; at most
  // the model's max_length).
  State make_state(index rows, index capacity = max_length) const;

  // Empties the state and runs prefix item i (prefix()'s result) through the decoder for its
  // rows/prefix.batch consecutive rows (beam search's layout: rows b·width … b·width + width − 1
  // are item b's beams), which share its cached keys and values.
  void condition(State& state, const mmm::Seq<dim>& prefix, mmm::Workspace& ws) const;

  // The decoder-step interface: appends each row's tokens, gives the logits of its last one.
  mmm::Feat<vocab_size> step(const mmm::Tokens& tokens, State& state, mmm::Workspace& ws) const;

 private:
  void check_length(index length) const {
    if (length > max_length)
      throw mmm::RangeError(name() + ": a sequence of " + std::to_string(length) + " positions, the model has " +
                            std::to_string(max_length) + " (" + std::to_string(image_tokens) + " image tokens, at most " +
                            std::to_string(max_question) + " question words and " + std::to_string(max_answer) +
                            " answer tokens)");
  }

  caption::Encoder encoder_;
  mmm::Conv2D<caption::features, dim, mmm::Conv{.kernel = 2, .stride = 2}> image_proj_;
  mmm::Embedding<vocab_size, word_dim> question_embed_;
  mmm::LSTM<word_dim, question_hidden> question_lstm_;
  mmm::Linear<question_hidden, dim> question_proj_;
  mmm::SequenceJoin join_;
  mmm::Embedding<vocab_size, dim> embed_;
  mmm::LearnedPositions<max_length, dim> pos_;
  std::array<Block, layers> blocks_;
  mmm::LayerNorm<dim> ln_f_;
  mmm::Linear<dim, vocab_size> head_;
};

static_assert(mmm::generate::StepDecoder<Assistant>, "the assistant decodes on generate/'s step interface");

// The model, its vocabulary and decoding settings (from the weights' metadata), and buffers
// for one image and question at a time.
class Answerer {
 public:
  // `path`: assistant.safetensors (examples/assistant).
  explicit Answerer(const std::string& path);

  // The image as the model's [1, 3, 64, 64] input: resized when it is another size
  // (bilinear with antialiasing, as torchvision), then (v / 255 - mean) / std.
  const mmm::Tensor& image_input(const mmm::Image& image) { return image_(image); }

  // The word ids of a question (question.hpp); a word the model does not know, or a
  // question longer than it was trained on, is a RangeError that says so.
  const std::vector<std::int32_t>& question_input(std::string_view question) { return questions_.ids(question); }

  // Greedy decoding (width 1, the default) or beam search of one normalized image
  // (image_input()'s tensor) and question (question_input()'s ids): the best token
  // sequence, <eos> included when it ended there, and its score (beam search: sum of
  // log-probabilities / length; greedy: the sum). A view into this Answerer's Workspace,
  // valid until the next call; allocates nothing once a call of the same width has run.
  mmm::generate::Hypotheses beam(const mmm::Tensor& image, std::span<const std::int32_t> question, index width);
  mmm::generate::Hypotheses greedy(const mmm::Tensor& image, std::span<const std::int32_t> question);

  struct Result {
    std::string text;
    std::vector<std::int32_t> tokens;  // generated, <eos> included when it ended there
    float score = 0;
  };
  // The answer to a question about an image (any size); width 0: the model's (greedy).
  Result answer(const mmm::Image& image, std::string_view question, index width = 0);

  // The words of generated tokens, up to <eos>.
  std::string text(std::span<const std::int32_t> tokens) const {
    std::string out;
    for (std::int32_t t : tokens) {
      if (t == eos_) break;
      if (t == vocabulary().pad_id() || t == bos_) continue;
      if (!out.empty()) out += ' ';
      out += vocabulary().token(t);
    }
    return out;
  }

  const Assistant& model() const { return model_; }
  const mmm::Vocabulary& vocabulary() const { return questions_.vocabulary(); }
  std::int32_t bos() const { return bos_; }
  std::int32_t eos() const { return eos_; }
  index beam_width() const { return width_; }

 private:
  // The image's and the question's prefix into a state of `rows` rows (made again only when
  // that changes).
  void condition(const mmm::Tensor& image, std::span<const std::int32_t> question, index rows);

  Assistant model_;
  QuestionReader questions_;
  std::int32_t bos_ = 1, eos_ = 2;
  index width_ = 1;
  Assistant::State state_;
  examples::ImageInput image_;
  mmm::Workspace workspace_;
};

}  // namespace assistant
