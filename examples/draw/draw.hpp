#pragma once
// Text to image on synthetic scenes: the model of tools/train_text_to_image.py, module for
// module (its state_dict loads as is), and everything between a prompt and the model's
// input (words to token ids: prompt.hpp) and between its output and a picture (tanh outputs
// to 8-bit pixels, a PNG). Its methods are compiled once, in task.cpp (the library draw_task,
// task.cmake), for that task (the draw program and mmm-run; the full-set agreement run is
// examples/draw/agreement.py), the parity test (tests/apps/draw.cpp) and the application
// benchmark.
//
//   text      Embedding(46, 64), LSTM(64, 256) over the prompt: its last step's h
//   seed      Linear(256, 128·4·4) + ReLU, a 128×4×4 map
//   up1       Upsample(×2, nearest) + Conv2d(128, 96, 3, padding 1) + ReLU            8×8
//   up2..up4  ConvTranspose2d(96→64→32→16, 4, stride 2, padding 1) + ReLU     16, 32, 64
//   to_rgb    Conv2d(16, 3, 3, padding 1) + Tanh: RGB in [-1, 1]
//
// The picture: pixel = round_half_even((x · 0.5 + 0.5) · 255) clamped to [0, 255]
// (preprocess/image/quantize.hpp; the training script's to_image() does the same in numpy).
//
//   draw::Painter painter("examples/draw/draw.safetensors");
//   const mmm::Image& picture = painter.draw("a small red circle above a large blue square");
//   mmm::write_png("out.png", picture);

#include <array>
#include <cctype>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mmm/compose/module_base.hpp"
#include "mmm/core/errors.hpp"
#include "mmm/core/kinds.hpp"
#include "mmm/core/workspace.hpp"
#include "mmm/io/load.hpp"
#include "mmm/io/safetensors.hpp"
#include "mmm/kernels/activation.hpp"
#include "mmm/layers/conv2d.hpp"
#include "mmm/layers/conv_transpose2d.hpp"
#include "mmm/layers/embedding.hpp"
#include "mmm/layers/linear.hpp"
#include "mmm/layers/lstm.hpp"
#include "mmm/layers/upsample.hpp"
#include "mmm/preprocess/image/encode.hpp"
#include "mmm/preprocess/image/image.hpp"
#include "mmm/preprocess/image/quantize.hpp"
#include "../support/metadata.hpp"
#include "prompt.hpp"

namespace draw {

using mmm::index;

inline constexpr index image_size = 64;   // the model draws 64×64 RGB
inline constexpr index vocab_size = 46;   // tools/scenes.py vocabulary(), in the metadata
inline constexpr index embed_dim = 64;
inline constexpr index text_dim = 256;    // the LSTM's hidden size
inline constexpr index seed_channels = 128, seed_side = 4;

// The text encoder: Embedding + LSTM, the hidden state at each prompt's last word.
class TextEncoder : public mmm::ModuleBase<TextEncoder, mmm::Takes<mmm::Tokens, mmm::Feat<text_dim>>> {
 public:
  static std::string name() { return "TextEncoder<Embedding<46, 64>, LSTM<64, 256>>"; }

  static void parameters(auto& self, auto&& p) {
    p("embed", self.embed_);
    p("lstm", self.lstm_);
  }

  // N prompts (Tokens::lengths their words; padding after them is ignored) → N × 256.
  mmm::Feat<text_dim> forward(const mmm::Tokens& tokens, mmm::Workspace& ws) const;

 private:
  mmm::Embedding<vocab_size, embed_dim> embed_;
  mmm::LSTM<embed_dim, text_dim> lstm_;
};

// The whole generator: N prompts → N × 3 × 64 × 64 in [-1, 1].
class Drawer : public mmm::ModuleBase<Drawer, mmm::Takes<mmm::Tokens, mmm::Map<3>>> {
  static constexpr mmm::Conv same3{.kernel = 3, .pad = 1};
  static constexpr mmm::Conv double4{.kernel = 4, .stride = 2, .pad = 1};

 public:
  static std::string name() {
    return "Drawer<" + TextEncoder::name() + ", Linear<256, 2048>, Upsample ×2 + Conv2D<128, 96>, "
           "3 × ConvTranspose2D /2 (96→64→32→16), Conv2D<16, 3> + tanh>";
  }

  // torch's nn.Sequential indices: up1 = (Upsample, Conv2d, ReLU), up2..4 = (ConvTranspose2d,
  // ReLU), to_rgb = (Conv2d, Tanh).
  static void parameters(auto& self, auto&& p) {
    p("text", self.text_);
    p("seed", self.seed_);
    p("up1.1", self.up1_);
    p("up2.0", self.up2_);
    p("up3.0", self.up3_);
    p("up4.0", self.up4_);
    p("to_rgb.0", self.to_rgb_);
  }

  mmm::Map<3> forward(const mmm::Tokens& tokens, mmm::Workspace& ws) const;

 private:
  TextEncoder text_;
  mmm::Linear<text_dim, seed_channels * seed_side * seed_side> seed_;
  mmm::Conv2D<seed_channels, 96, same3> up1_;
  mmm::ConvTranspose2D<96, 64, double4> up2_;
  mmm::ConvTranspose2D<64, 32, double4> up3_;
  mmm::ConvTranspose2D<32, 16, double4> up4_;
  mmm::Conv2D<16, 3, same3> to_rgb_;
};

// The model, its vocabulary and pixel settings (from the weights' metadata), and buffers
// for one prompt at a time: after the first drawing, drawing allocates nothing.
class Painter {
 public:
  // `path`: draw.safetensors (examples/draw).
  explicit Painter(const std::string& path);

  // The prompt's token ids (prompt.hpp): a view, valid until the next call; an unknown word
  // is a PromptError that names it.
  std::span<const std::int32_t> tokens(std::string_view prompt) { return prompt_.tokens(prompt); }

  // The model's output for the prompt: 1 × 3 × 64 × 64 in [-1, 1], a view into this
  // Painter's Workspace, valid until the next call.
  mmm::Map<3> canvas(std::string_view prompt);

  // The picture of the prompt: 64×64 RGB, valid until the next call.
  const mmm::Image& draw(std::string_view prompt);

  const Drawer& model() const { return model_; }
  const std::vector<std::string>& words() const { return prompt_.words(); }
  float mean() const { return mean_; }
  float std() const { return std_; }
  // The fraction of held-out prompts whose drawing the captioner read back exactly, as the
  // training script measured it (metadata 'read_back_accuracy').
  double read_back_accuracy() const { return read_back_; }

 private:
  Drawer model_;
  PromptReader prompt_;
  float mean_ = 0.5f, std_ = 0.5f;
  double read_back_ = 0;
  mmm::Image picture_;
  mmm::Workspace workspace_;
};

}  // namespace draw
