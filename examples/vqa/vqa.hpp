#pragma once
// Visual question answering on synthetic scenes: the model type, and everything between
// files and its inputs (image decoding, resizing, normalization, question tokenization)
// exactly as tools/train_vqa.py does it in PyTorch. Used by task.cpp (the vqa program and
// mmm-run) and by the label parity test (tests/fusion/vqa.cpp).

#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>
#include <vector>

#include "mmm/pipeline.hpp"
#include "mmm/preprocess/image/decode.hpp"
#include "mmm/preprocess/text/vocabulary.hpp"

#include "../support/image_input.hpp"
#include "../support/metadata.hpp"

namespace vqa {

using mmm::index;

inline constexpr index image_size = 24;  // the model sees 24×24 RGB
inline constexpr index vocab_size = 23;  // 4 specials + 19 words (vocab.txt)
inline constexpr index answer_count = 11;

// The torch model of tools/train_vqa.py, module for module: its state_dict loads as is.
// Two stride-2 convolutions take the 24×24 image to 32 maps of 6×6.
inline constexpr mmm::Conv halve{.kernel = 3, .stride = 2, .pad = 1};
using ImageEncoder = mmm::Sequential<mmm::Conv2D<3, 16, halve>, mmm::ReLU, mmm::Conv2D<16, 32, halve>, mmm::ReLU,
                                     mmm::Flatten<32, image_size / 4, image_size / 4>,
                                     mmm::Linear<32 * (image_size / 4) * (image_size / 4), 128>, mmm::ReLU>;
using TextEncoder = mmm::Sequential<mmm::Embedding<vocab_size, 32>, mmm::MeanPool, mmm::Linear<32, 64>, mmm::ReLU>;
using Head = mmm::SoftmaxHead<128, answer_count>;
using Model = mmm::Sequential<mmm::Parallel<ImageEncoder, TextEncoder>, mmm::FusionConcat, mmm::Linear<192, 128>, mmm::ReLU,
                              Head>;

// The words of a question as the training script sees them: lower case, runs of letters
// and digits (so "Circle?" is "circle").
inline std::string normalize_question(std::string_view question) {
  std::string out;
  for (char ch : question) {
    const auto c = static_cast<unsigned char>(ch);
    out += std::isalnum(c) ? static_cast<char>(std::tolower(c)) : ' ';
  }
  return out;
}

// The model, its vocabulary and answers, and reusable buffers for one question at a time.
class Answerer {
 public:
  // `dir` holds vqa.safetensors and vocab.txt (examples/vqa).
  explicit Answerer(const std::string& dir)
      : vocabulary_(mmm::Vocabulary::load(dir + "/vocab.txt", mmm::Vocabulary::Unit::word)),
        image_(image_size) {
    const mmm::SafeTensors weights(dir + "/vqa.safetensors");
    mmm::load(model_, weights);
    answers_ = examples::metadata_list(weights, "answers", answer_count, "answers");
    image_.read_normalization(weights);
    if (static_cast<index>(vocabulary_.size()) != vocab_size)
      throw mmm::FormatError(dir + "/vocab.txt: " + std::to_string(vocabulary_.size()) + " words, the model's embedding has " +
                             std::to_string(vocab_size));
  }

  // Token ids of a question; unknown words are <unk>.
  std::vector<std::int32_t> tokenize(std::string_view question) const {
    return vocabulary_.encode(normalize_question(question));
  }

  // The image as the model's [1, 3, 24, 24] input: resized when it is another size
  // (bilinear with antialiasing, as torchvision), then (v / 255 - mean) / std.
  const mmm::Tensor& image_input(const mmm::Image& image) { return image_(image); }

  // Answer probabilities for one image and one question.
  mmm::Feat<answer_count> probabilities(const mmm::Image& image, std::string_view question) {
    tokens_ = tokenize(question);
    if (tokens_.empty()) throw mmm::RangeError("the question has no words");
    const mmm::Tokens tokens(tokens_.data(), 1, static_cast<index>(tokens_.size()));
    return model_(mmm::Map<3>(image_input(image)), tokens, workspace_);
  }

  const Model& model() const { return model_; }
  const std::vector<std::string>& answers() const { return answers_; }
  const mmm::Vocabulary& vocabulary() const { return vocabulary_; }

 private:
  Model model_;
  mmm::Vocabulary vocabulary_;
  std::vector<std::string> answers_;
  examples::ImageInput image_;
  std::vector<std::int32_t> tokens_;
  mmm::Workspace workspace_;
};

}  // namespace vqa
