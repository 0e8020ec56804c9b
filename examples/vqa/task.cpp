// Visual question answering: an image and a question in, the answer out. The `vqa` program
// and `mmm-run ask`.
//
//   vqa                                     every shipped scene in inputs.tsv with its question
//   vqa scene.png "what color is the circle?"    (or --image scene.png --question "…")
//   options: --model-dir DIR (vqa.safetensors, vocab.txt; default: this example's directory)
//            --top K (answers to show, default 3)
//            --expect ANSWER (exit with status 1 unless the top answer is ANSWER)
//
// The model (examples/vqa/vqa.hpp) is an image branch and a question branch run side by
// side by mmm::Parallel, joined by FusionConcat, and a classifier over 11 answers; it was
// trained in PyTorch by tools/train_vqa.py on synthetic scenes of coloured shapes.
#include <cstdio>
#include <string>
#include <vector>

#include "../support/example.hpp"
#include "vqa.hpp"

namespace vqa {

int run(const examples::Invocation& how) {
  static const char usage[] =
      "usage: %1$s IMAGE QUESTION [--model-dir DIR] [--top K] [--expect ANSWER]\n"
      "   or: %1$s --image IMAGE --question QUESTION [...]\n"
      "Answers a question about an image (\"what color is the circle?\") with one of 11 answers: colours,\n"
      "shapes, yes/no, counts. A small model of synthetic scenes of coloured shapes (examples/vqa);\n"
      "words outside its vocabulary (DIR/vocab.txt, US spelling) are unknown to it. DIR holds\n"
      "vqa.safetensors and vocab.txt. Without an image, the example program answers its shipped questions.\n";
  return examples::run(how, usage, [&] {
    std::string dir = how.model_dir, image_path, question, expect;
    long top = 3;
    examples::CommandLine line({{"--image", image_path}, {"--question", question}, {"--model-dir", dir}, {"--expect", expect}});
    line.option("--top", top, 1, answer_count);
    const auto positional = line.parse(how.args);
    if (!positional.empty() && (positional.size() != 2 || !image_path.empty() || !question.empty()))
      throw examples::UsageError{"give one image and one question"};
    if (positional.size() == 2) image_path = positional[0], question = positional[1];
    if (image_path.empty() != question.empty()) throw examples::UsageError{"give both an image and a question"};
    std::vector<examples::Input> given;
    if (!image_path.empty()) given.push_back({image_path, image_path, {question}});
    const auto inputs = examples::inputs_of(how, given, expect, 2, "image<TAB>question<TAB>answer");

    Answerer answerer(dir);
    std::printf("mmm visual question answering: %s\n\n", Model::name().c_str());
    examples::Tally tally;
    for (const examples::Input& q : inputs) {
      const mmm::Image image = mmm::read_image(q.path);
      const examples::Stopwatch clock;
      const auto probabilities = answerer.probabilities(image, q.field(0));
      const auto best = Head::top_k(probabilities, top);
      const double ms = clock.milliseconds();
      std::printf("%s (%ldx%ld)\n  Q: %s\n", q.shown.c_str(), static_cast<long>(image.width()),
                  static_cast<long>(image.height()), q.field(0).c_str());
      for (std::size_t k = 0; k < best.size(); ++k)
        std::printf("  %s %-9s %5.1f%%\n", k == 0 ? "A:" : "  ", answerer.answers()[static_cast<std::size_t>(best[k].label)].c_str(),
                    100.0 * best[k].probability);
      tally.check("expected: ", q.field(1), best.empty() ? "" : answerer.answers()[static_cast<std::size_t>(best[0].label)]);
      std::printf("  %.2f ms\n\n", ms);
    }
    return tally.finish("answered as expected");
  });
}

}  // namespace vqa
