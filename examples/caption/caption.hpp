#pragma once
// Image captioning on synthetic scenes: the model of tools/train_captioner.py, module for
// module (its state_dict loads as is), on mmm's decoder-step interface, and everything
// between a file and the model's input (decoding, resizing, normalization) and between its
// tokens and the caption. Its methods are compiled once, in task.cpp (the library caption_reader,
// reader.cmake), for that task (the caption program and mmm-run, whose --list the full-set
// agreement run examples/caption/agreement.py uses), the parity test (tests/apps/caption.cpp) and
// the application benchmark.
//
//   encoder      ResNet-style CNN: conv1 3→32 /2 + bn1 + ReLU, torchvision BasicBlocks
//                32→64 /2, 64→128 /2: a 128×8×8 map for a 64×64 image
//   memory       its 64 positions as tokens (row by row): memory_proj Linear(128, 128) and
//                memory_pos, learned positions
//   decoder      embed (Embedding) + pos (learned positions), decoder: nn.TransformerDecoder
//                of 2 pre-norm layers (D 128, 4 heads, feed-forward 256, causal
//                self-attention, cross-attention over the memory) and a final LayerNorm,
//                out: Linear(128, vocabulary)
//
// Decoding runs on generate/ (greedy, beam search) through Captioner::step with a KVCache:
// the memory's keys and values are projected once per image (condition()), and each new
// token costs one position per layer.

#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "mmm/generate.hpp"
#include "mmm/generate/conditioned_cache.hpp"
#include "mmm/pipeline.hpp"
#include "mmm/preprocess/image/decode.hpp"

#include "../support/image_input.hpp"
#include "../support/metadata.hpp"
#include "encoder.hpp"

namespace caption {

using mmm::index;

inline constexpr index dim = 128;          // D of the decoder and of the memory tokens
inline constexpr index image_tokens = 64;  // the encoder's 8×8 map
inline constexpr index vocab_size = 46;    // tools/scenes.py vocabulary(), in the metadata
inline constexpr index max_length = 20;    // <bos> + words + <eos>: the learned positions

// The whole captioner. As a module it takes images and gives their memory (image tokens);
// as a StepDecoder (generate/decoder.hpp) it continues captions over a conditioned state.
class Captioner : public mmm::ModuleBase<Captioner, mmm::Takes<mmm::Map<3>, mmm::Seq<dim>>> {
  using DecoderLayer = mmm::TransformerDecoderLayer<dim, 4, 256, mmm::Layer{.norm_first = true, .causal = true}>;
  using Decoder = mmm::TransformerDecoder<DecoderLayer, 2, mmm::LayerNorm<dim>>;

 public:
  static constexpr index vocab_size = caption::vocab_size;

  // Rows of captions in progress: the decoder's KVCache (self-attention keys and values of
  // every position so far, and each row's image memory) and the row map condition() needs.
  using State = mmm::generate::ConditionedCache;

  static std::string name() { return "Captioner<" + Encoder::name() + ", " + Decoder::name() + ">"; }

  static void parameters(auto& self, auto&& p) {
    p("encoder", self.encoder_);
    p("memory_proj", self.memory_proj_);
    p("memory_pos", self.memory_pos_);
    p("embed", self.embed_);
    p("pos", self.pos_);
    p("decoder", self.decoder_);
    p("out", self.out_);
  }

  // N images (N×3×64×64, normalized) → their N × 64 memory tokens.
  mmm::Seq<dim> forward(const mmm::Map<3>& images, mmm::Workspace& ws) const;

  // Teacher forcing, the training script's model.logits(memory, tokens): the logits of every
  // position of N token rows (N memories), each position seeing those before it.
  mmm::Seq<vocab_size> logits(const mmm::Seq<dim>& memory, const mmm::Tokens& tokens, mmm::Workspace& ws) const;

  // A state for `rows` captions of up to `capacity` tokens (<bos> included).
  State make_state(index rows, index capacity) const;

  // Empties the state and gives image i of `memory` to its rows/memory.batch consecutive
  // rows (beam search's layout: rows b·width … b·width + width − 1 are image b's beams).
  void condition(State& state, const mmm::Seq<dim>& memory, mmm::Workspace& ws) const;

  // The decoder-step interface: appends each row's tokens, gives the logits of its last one.
  mmm::Feat<vocab_size> step(const mmm::Tokens& tokens, State& state, mmm::Workspace& ws) const;

 private:
  Encoder encoder_;
  mmm::Linear<features, dim> memory_proj_;
  mmm::LearnedPositions<image_tokens, dim> memory_pos_;
  mmm::Embedding<vocab_size, dim> embed_;
  mmm::LearnedPositions<max_length, dim> pos_;
  Decoder decoder_;
  mmm::Linear<dim, vocab_size> out_;
};

static_assert(mmm::generate::StepDecoder<Captioner>, "the captioner decodes on generate/'s step interface");

// The model, its vocabulary and decoding settings (from the weights' metadata), and buffers
// for one image at a time.
class Describer {
 public:
  // `path`: caption.safetensors (examples/caption).
  explicit Describer(const std::string& path);

  // The image as the model's [1, 3, 64, 64] input: resized when it is another size
  // (bilinear with antialiasing, as torchvision), then (v / 255 - mean) / std.
  const mmm::Tensor& image_input(const mmm::Image& image) { return image_(image); }

  // Beam search (width 0: the model's) or greedy decoding of one normalized image
  // (image_input()'s tensor): the best token sequence, <eos> included when it ended there,
  // and its score (beam search: sum of log-probabilities / length; greedy: the sum). A view
  // into this Describer's Workspace, valid until the next call; allocates nothing once a
  // call of the same width has run.
  mmm::generate::Hypotheses beam(const mmm::Tensor& input, index width = 0);
  mmm::generate::Hypotheses greedy(const mmm::Tensor& input);

  struct Result {
    std::string text;
    std::vector<std::int32_t> tokens;  // generated, <eos> included when it ended there
    float score = 0;                   // sum of log-probabilities / length
  };
  // The caption of an image (any size) by beam search of the given width (0: the model's).
  Result describe(const mmm::Image& image, index width = 0);

  // The words of generated tokens, up to <eos>.
  std::string text(std::span<const std::int32_t> tokens) const {
    std::string out;
    for (std::int32_t t : tokens) {
      if (t == eos_) break;
      if (t == pad_ || t == bos_) continue;
      if (!out.empty()) out += ' ';
      out += words_[static_cast<std::size_t>(t)];
    }
    return out;
  }

  const Captioner& model() const { return model_; }
  const std::vector<std::string>& words() const { return words_; }
  std::int32_t bos() const { return bos_; }
  std::int32_t eos() const { return eos_; }
  index beam_width() const { return width_; }

 private:
  // The image's memory into a state of `rows` rows (made again only when that changes).
  void condition(const mmm::Tensor& input, index rows);

  std::int32_t id_of(const std::string& word, const std::string& path) const;

  Captioner model_;
  std::vector<std::string> words_;
  std::int32_t bos_ = 0, eos_ = 0, pad_ = 0;
  index width_ = 4;
  Captioner::State state_;
  examples::ImageInput image_;
  mmm::Workspace workspace_;
};

}  // namespace caption
