// Image captioning: an image in, a sentence out ("a small red circle to the left of a large
// blue square"). The `caption` program and `mmm-run caption`.
//
//   caption                      every shipped scene in inputs.tsv, with its true caption
//   caption photo.png [more.png …]
//   options: --model PATH        caption.safetensors (default: this example's)
//            --width K           beam width (default: the model's, 4; 1 is greedy)
//            --expect TEXT       exit with status 1 unless the (one) caption is TEXT
//            --list FILE         captions every image named in FILE (one path a line, relative
//                                to FILE, anything after a tab ignored) and prints
//                                "path<TAB>caption<TAB>score" lines, for agreement.py
//
// The model (caption.hpp): a ResNet-style CNN whose 8×8 map is the memory of a 2-layer
// transformer decoder, beam search over its KV cache; trained in PyTorch by
// tools/train_captioner.py on synthetic scenes.
#include <cstdio>
#include <string>
#include <vector>

#include "../support/example.hpp"
#include "caption.hpp"
#include "reader.hpp"

namespace caption {

int run(const examples::Invocation& how) {
  static const char usage[] =
      "usage: %s IMAGE [IMAGE ...] [--model PATH] [--width K] [--expect TEXT] [--list FILE]\n"
      "Describes each image (PNG, JPEG, BMP, PPM; any size, resized to 64x64) in one sentence:\n"
      "the shapes of the synthetic scenes it was trained on (examples/caption/README.md).\n"
      "Without images, the example program captions its shipped scenes.\n";
  return examples::run(how, usage, [&] {
    examples::DecodingOptions options(how, "caption.safetensors");
    const auto images = options.command_line().parse(how.args);
    const auto& [model, expect, list, width] = options;
    const auto inputs = list.empty() ? examples::inputs_of(how, examples::files(images), expect) : std::vector<examples::Input>{};

    Describer describer(model);
    if (!list.empty()) {
      for (const examples::Input& in : examples::read_list(list)) {
        const auto r = describer.describe(mmm::read_image(in.path), width);
        std::printf("%s\t%s\t%.9g\n", in.shown.c_str(), r.text.c_str(), static_cast<double>(r.score));
      }
      return 0;
    }
    // One blank image first, so that the times below are those of a warm program (the first
    // call also starts the threads and sizes every buffer), as the transcriber's are.
    (void)describer.describe(mmm::Image(image_size, image_size, 3), width);
    std::printf("mmm image captioning: %s\n\n", Captioner::name().c_str());
    examples::Tally tally;
    for (const examples::Input& in : inputs) {
      const mmm::Image image = mmm::read_image(in.path);
      const examples::Stopwatch clock;
      const auto r = describer.describe(image, width);
      const double ms = clock.milliseconds();
      std::printf("%s (%ldx%ld)\n  caption: %s\n", in.shown.c_str(), static_cast<long>(image.width()),
                  static_cast<long>(image.height()), r.text.c_str());
      tally.check("true:    ", in.field(0), r.text);
      std::printf("  %.1f ms (beam width %ld)\n\n", ms, static_cast<long>(width > 0 ? width : describer.beam_width()));
    }
    return tally.finish("captions as expected");
  });
}

// caption::Reader (reader.hpp): the Describer behind a compiled wall, in this TU because it
// compiles the Describer anyway.
Reader::Reader(const std::string& path) : describer_(std::make_unique<Describer>(path)) {}
Reader::~Reader() = default;
Reader::Reader(Reader&&) noexcept = default;
Reader& Reader::operator=(Reader&&) noexcept = default;

std::string Reader::read(const mmm::Image& image) { return describer_->describe(image).text; }

// The methods of caption.hpp, here so that the model's templates compile once for the
// caption program, mmm-run, the parity test (tests/apps) and the application benchmark,
// which all link this TU (each of those that compiled the model itself spent 15-30 CPU-s
// on the same templates).

mmm::Seq<dim> Captioner::forward(const mmm::Map<3>& images, mmm::Workspace& ws) const {
  const mmm::Workspace::Mark start = ws.mark();
  const mmm::Map<features> map = encoder_.forward(images, ws);
  if (map.height * map.width != image_tokens)
    throw mmm::ShapeError(name() + ": the encoder gives a " + std::to_string(map.height) + "×" + std::to_string(map.width) +
                          " map but the memory has " + std::to_string(image_tokens) + " learned positions (64×64 images)");
  const mmm::Seq<features> tokens = mmm::MapToSeq{}.forward(map, ws);
  const mmm::Seq<dim> projected = memory_proj_.forward(tokens, ws);
  const mmm::Seq<dim> memory = memory_pos_.forward(projected, ws);
  ws.release_except(start, memory);
  return memory;
}

mmm::Seq<vocab_size> Captioner::logits(const mmm::Seq<dim>& memory, const mmm::Tokens& tokens, mmm::Workspace& ws) const {
  const mmm::Workspace::Mark start = ws.mark();
  const mmm::Seq<dim> x = pos_.forward(embed_.forward(tokens, ws), ws);
  const mmm::Seq<dim> h = decoder_.forward(x, memory, mmm::DecoderMasks{}, ws);
  const mmm::Seq<vocab_size> y = out_.forward(h, ws);
  ws.release_except(start, y);
  return y;
}

Captioner::State Captioner::make_state(index rows, index capacity) const {
  return State(decoder_.make_cache(rows, capacity, image_tokens));
}

void Captioner::condition(State& state, const mmm::Seq<dim>& memory, mmm::Workspace& ws) const {
  state.condition(memory.batch, [&](mmm::KVCache& cache) { decoder_.set_memory(memory, cache, ws); }, &name, "images");
}

mmm::Feat<vocab_size> Captioner::step(const mmm::Tokens& tokens, State& state, mmm::Workspace& ws) const {
  mmm::KVCache& cache = state.step_cache(tokens.batch, &name);
  const mmm::Workspace::Mark start = ws.mark();
  const mmm::Seq<dim> e = embed_.forward(tokens, ws);
  const mmm::Seq<dim> x = pos_.forward_at(e, cache.lengths().data(), tokens.lengths, ws);
  const mmm::Seq<dim> h = decoder_.step(x, cache, ws);
  // Each row's last new position.
  float* last = ws.allocate<float>(mmm::checked_mul(tokens.batch, dim, "Captioner::step"));
  for (index b = 0; b < h.batch; ++b)
    std::memcpy(last + b * dim, h.data + (b * h.length + tokens.valid_length(b) - 1) * dim, sizeof(float) * dim);
  const mmm::Feat<vocab_size> y = out_.forward(mmm::Feat<dim>(last, tokens.batch), ws);
  ws.release_except(start, y);
  return y;
}

Describer::Describer(const std::string& path) : image_(image_size) {
  const mmm::SafeTensors weights(path);
  mmm::load(model_, weights);
  words_ = examples::metadata_list(weights, "vocabulary", vocab_size, "words");
  image_.read_normalization(weights);
  width_ = static_cast<index>(weights.metadata_integer("beam_width", 1, 64));
  bos_ = id_of("<bos>", weights.path());
  eos_ = id_of("<eos>", weights.path());
  pad_ = id_of("<pad>", weights.path());
  state_ = model_.make_state(width_, max_length);
}

mmm::generate::Hypotheses Describer::beam(const mmm::Tensor& input, index width) {
  if (width <= 0) width = width_;
  condition(input, width);
  return mmm::generate::beam_search(model_, state_, mmm::Tokens(&bos_, 1, 1),
                                    {.max_length = max_length, .eos = eos_, .width = width}, workspace_);
}

mmm::generate::Hypotheses Describer::greedy(const mmm::Tensor& input) {
  condition(input, 1);
  return mmm::generate::greedy(model_, state_, mmm::Tokens(&bos_, 1, 1), {.max_length = max_length, .eos = eos_},
                               workspace_);
}

Describer::Result Describer::describe(const mmm::Image& image, index width) {
  const mmm::generate::Hypotheses h = beam(image_input(image), width);
  const auto tokens = h.tokens(0);
  return {text(tokens), {tokens.begin(), tokens.end()}, h.score(0)};
}

void Describer::condition(const mmm::Tensor& input, index rows) {
  if (rows != state_.rows()) state_ = model_.make_state(rows, max_length);
  workspace_.reset();
  const mmm::Seq<dim> memory = model_.forward(mmm::Map<3>(input), workspace_);
  model_.condition(state_, memory, workspace_);
}

std::int32_t Describer::id_of(const std::string& word, const std::string& path) const {
  for (std::size_t i = 0; i < words_.size(); ++i)
    if (words_[i] == word) return static_cast<std::int32_t>(i);
  throw mmm::FormatError(path + ": the vocabulary has no '" + word + "'");
}

}  // namespace caption
