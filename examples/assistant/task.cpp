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

}  // namespace assistant
