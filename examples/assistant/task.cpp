// The multimodal assistant: an image and a question in, a free-text answer out
// ("what colour is the square?" → "the square is blue"). The `assistant` program and
// `mmm-run ask`.
//
//   assistant                              every shipped scene and question in inputs.tsv,
//                                          with its true answer
//   assistant photo.png "QUESTION" ["QUESTION" …]
//   options: --model PATH    assistant.safetensors (default: this example's)
//            --width K       beam width (default: the model's, 1: greedy)
//            --expect TEXT   exit with status 1 unless the (one) answer is TEXT
//            --list FILE     answers every line "image<TAB>question" of FILE (image paths
//                            relative to FILE, anything after a second tab ignored) and
//                            prints "image<TAB>question<TAB>answer<TAB>score" lines, for
//                            agreement.py
//
// The model (assistant.hpp): the captioner's CNN gives 16 image tokens, an LSTM one token
// per question word, and a 2-layer decoder-only transformer reads them before the answer it
// writes, one token at a time over its KV cache; trained in PyTorch by
// tools/train_assistant.py on synthetic scenes.
#include <cstdio>
#include <string>
#include <vector>

#include "../support/example.hpp"
#include "assistant.hpp"
#include "mmm/preprocess/image/decode.hpp"

namespace assistant {

int run(const examples::Invocation& how) {
  static const char usage[] =
      "usage: %1$s IMAGE QUESTION [QUESTION ...] [--model PATH] [--width K] [--expect TEXT] [--list FILE]\n"
      "Answers questions about an image (PNG, JPEG, BMP, PPM; any size, resized to 64x64) in words, e.g.\n"
      "  %1$s photo.png \"what colour is the square?\"\n"
      "It knows the synthetic scenes of coloured shapes it was trained on (examples/assistant/README.md)\n"
      "and questions about colours, shapes, counts, positions and sizes: what colour is the X? what\n"
      "shape is the COLOUR object? how many objects are there? where is the X? how big is the X? is there\n"
      "a COLOUR X? A word it does not know is an error that lists the words it knows.\n"
      "Without an image, the example program answers its shipped questions.\n";
  return examples::run(how, usage, [&] {
    examples::DecodingOptions options(how, "assistant.safetensors");
    const std::vector<std::string> positional = options.command_line().parse(how.args);
    const auto& [model, expect, list, width] = options;
    if (positional.size() == 1) throw examples::UsageError{positional[0] + ": a question about it is missing"};
    std::vector<examples::Input> given;
    for (std::size_t q = 1; q < positional.size(); ++q) given.push_back({positional[0], positional[0], {positional[q]}});
    const std::string layout = "image<TAB>question<TAB>answer";
    const auto inputs = list.empty() ? examples::inputs_of(how, given, expect, 2, layout) : std::vector<examples::Input>{};

    Answerer answerer(model);
    if (!list.empty()) {
      for (const examples::Input& in : examples::read_list(list, 1, "image<TAB>question")) {
        const auto r = answerer.answer(mmm::read_image(in.path), in.field(0), width);
        std::printf("%s\t%s\t%s\t%.9g\n", in.shown.c_str(), in.field(0).c_str(), r.text.c_str(), static_cast<double>(r.score));
      }
      return 0;
    }
    // The questions first, so that a word the model does not know is said before any work.
    for (const examples::Input& in : inputs) (void)answerer.question_input(in.field(0));
    // The first question once first, so that the times below are those of a warm program (the
    // first call also starts the threads and sizes every buffer), as the captioner's are.
    mmm::Image image = mmm::read_image(inputs.front().path);
    (void)answerer.answer(image, inputs.front().field(0), width);
    std::printf("mmm multimodal assistant: %s\n\n", Assistant::name().c_str());
    const long w = width > 0 ? width : static_cast<long>(answerer.beam_width());
    examples::Tally tally;
    std::string shown;
    for (const examples::Input& in : inputs) {
      if (in.path != shown) {
        if (!shown.empty()) image = mmm::read_image(in.path);
        shown = in.path;
        std::printf("%s (%ldx%ld)\n", in.shown.c_str(), static_cast<long>(image.width()), static_cast<long>(image.height()));
      }
      const examples::Stopwatch clock;
      const auto r = answerer.answer(image, in.field(0), width);
      const double ms = clock.milliseconds();
      std::printf("  Q: %s\n  A: %s\n", in.field(0).c_str(), r.text.c_str());
      tally.check("true: ", in.field(1), r.text);
      std::printf("  %.2f ms (%s)\n\n", ms, w == 1 ? "greedy" : ("beam width " + std::to_string(w)).c_str());
    }
    return tally.finish("answers as expected");
  });
}

// The methods of assistant.hpp, here so that the model's templates compile once for the
// assistant program, mmm-run, the parity test (tests/apps) and the application benchmark,
// which all link this TU (each of those that compiled the model itself spent 15-30 CPU-s
// on the same templates).

mmm::Seq<dim> Assistant::forward(const mmm::Map<3>& images, mmm::Workspace& ws) const {
  const mmm::Workspace::Mark start = ws.mark();
  const mmm::Map<caption::features> map = encoder_.forward(images, ws);
  const mmm::Map<dim> patches = image_proj_.forward(map, ws);
  if (patches.height * patches.width != image_tokens)
    throw mmm::ShapeError(name() + ": the encoder gives a " + std::to_string(map.height) + "×" + std::to_string(map.width) +
                          " map but the model has " + std::to_string(image_tokens) + " image tokens (64×64 images)");
  const mmm::Seq<dim> tokens = mmm::MapToSeq{}.forward(patches, ws);
  ws.release_except(start, tokens);
  return tokens;
}

mmm::Seq<dim> Assistant::question_tokens(const mmm::Tokens& questions, mmm::Workspace& ws) const {
  const mmm::Workspace::Mark start = ws.mark();
  const mmm::Seq<question_hidden> h = question_lstm_.forward(question_embed_.forward(questions, ws), ws);
  const mmm::Seq<dim> tokens = question_proj_.forward(h, ws);
  ws.release_except(start, tokens);
  return tokens;
}

mmm::Seq<dim> Assistant::prefix(const mmm::Map<3>& images, const mmm::Tokens& questions, mmm::Workspace& ws) const {
  const mmm::Workspace::Mark start = ws.mark();
  const mmm::Seq<dim> image = forward(images, ws);
  const mmm::Seq<dim> question = question_tokens(questions, ws);
  const mmm::Seq<dim> joined = join_.forward(mmm::Branches<mmm::Seq<dim>, mmm::Seq<dim>>(image, question), ws);
  ws.release_except(start, joined);
  return joined;
}

mmm::Seq<vocab_size> Assistant::logits(const mmm::Seq<dim>& prefix, const mmm::Tokens& answers, mmm::Workspace& ws) const {
  const mmm::Workspace::Mark start = ws.mark();
  const mmm::Seq<dim> joined =
      join_.forward(mmm::Branches<mmm::Seq<dim>, mmm::Seq<dim>>(prefix, embed_.forward(answers, ws)), ws);
  check_length(joined.length);
  mmm::Seq<dim> x = pos_.forward(joined, ws);
  for (const Block& block : blocks_) {
    x = block.forward(x, ws);
    ws.release_except(start, x);
  }
  const mmm::Seq<vocab_size> y = head_.forward(ln_f_.forward(x, ws), ws);
  ws.release_except(start, y);
  return y;
}

Assistant::State Assistant::make_state(index rows, index capacity) const {
  return State(mmm::KVCache({layers, Block::kv_heads, Block::head_dim, 0}, rows, std::min(capacity, max_length)));
}

void Assistant::condition(State& state, const mmm::Seq<dim>& prefix, mmm::Workspace& ws) const {
  check_length(prefix.length);
  state.condition(
      prefix.batch,
      [&](mmm::KVCache& cache) {
        const mmm::Workspace::Mark start = ws.mark();
        const mmm::Seq<dim> x = pos_.forward(prefix, ws);
        mmm::detail::step_layers(blocks_, x, cache, ws, &name, [](const mmm::Seq<dim>&, mmm::Workspace&, mmm::Workspace::Mark) {
          return 0;  // the prefix's own outputs are not needed: only its keys and values
        });
        ws.release(start);
      },
      &name, "prefixes");
}

mmm::Feat<vocab_size> Assistant::step(const mmm::Tokens& tokens, State& state, mmm::Workspace& ws) const {
  mmm::KVCache& cache = state.step_cache(tokens.batch, &name);
  const mmm::Workspace::Mark start = ws.mark();
  const mmm::Seq<dim> e = embed_.forward(tokens, ws);
  for (index b = 0; b < tokens.batch; ++b)
    if (cache.length(b) + tokens.valid_length(b) > max_length)
      throw mmm::RangeError(name() + ": row " + std::to_string(b) + " would reach " +
                            std::to_string(cache.length(b) + tokens.valid_length(b)) + " positions, the model has " +
                            std::to_string(max_length));
  const mmm::Seq<dim> x = pos_.forward_at(e, cache.lengths().data(), tokens.lengths, ws);
  const mmm::Feat<vocab_size> y = mmm::detail::step_layers(
      blocks_, x, cache, ws, &name, [&](const mmm::Seq<dim>& h, mmm::Workspace& w, mmm::Workspace::Mark) {
        float* last = w.allocate<float>(mmm::checked_mul(h.batch, dim, "Assistant::step"));
        for (index b = 0; b < h.batch; ++b)
          std::memcpy(last + b * dim, h.data + (b * h.length + tokens.valid_length(b) - 1) * dim, sizeof(float) * dim);
        return head_.forward(ln_f_.forward(mmm::Feat<dim>(last, h.batch), w), w);
      });
  ws.release_except(start, y);
  return y;
}

Answerer::Answerer(const std::string& path) : image_(image_size) {
  const mmm::SafeTensors weights(path);
  mmm::load(model_, weights);
  image_.read_normalization(weights);
  width_ = static_cast<index>(weights.metadata_integer("beam_width", 1, 64));
  questions_ = QuestionReader(examples::metadata_list(weights, "vocabulary", vocab_size, "words"), weights.path());
  bos_ = vocabulary().bos_id();
  eos_ = vocabulary().eos_id();
  state_ = model_.make_state(width_);
}

mmm::generate::Hypotheses Answerer::beam(const mmm::Tensor& image, std::span<const std::int32_t> question, index width) {
  condition(image, question, width);
  return mmm::generate::beam_search(model_, state_, mmm::Tokens(&bos_, 1, 1),
                                    {.max_length = max_answer, .eos = eos_, .width = width}, workspace_);
}

mmm::generate::Hypotheses Answerer::greedy(const mmm::Tensor& image, std::span<const std::int32_t> question) {
  condition(image, question, 1);
  return mmm::generate::greedy(model_, state_, mmm::Tokens(&bos_, 1, 1), {.max_length = max_answer, .eos = eos_},
                               workspace_);
}

Answerer::Result Answerer::answer(const mmm::Image& image, std::string_view question, index width) {
  if (width <= 0) width = width_;
  const mmm::Tensor& input = image_input(image);
  const std::vector<std::int32_t>& ids = question_input(question);
  const mmm::generate::Hypotheses h = width == 1 ? greedy(input, ids) : beam(input, ids, width);
  const auto tokens = h.tokens(0);
  return {text(tokens), {tokens.begin(), tokens.end()}, h.score(0)};
}

void Answerer::condition(const mmm::Tensor& image, std::span<const std::int32_t> question, index rows) {
  if (rows != state_.rows()) state_ = model_.make_state(rows);
  workspace_.reset();
  const mmm::Tokens q(question.data(), 1, static_cast<index>(question.size()));
  const mmm::Seq<dim> prefix = model_.prefix(mmm::Map<3>(image), q, workspace_);
  model_.condition(state_, prefix, workspace_);
}

}  // namespace assistant
