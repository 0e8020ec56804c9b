// Visual question answering: an image and a question in, the answer out.
//
//   vqa                                     every shipped scene in inputs.tsv with its question
//   vqa --image scene.png --question "what color is the circle?"
//   options: --model-dir DIR (vqa.safetensors, vocab.txt; default: this example's directory)
//            --top K (answers to show, default 3)
//            --expect ANSWER (exit with status 1 unless the top answer is ANSWER)
//
// The model (examples/vqa/vqa.hpp) is an image branch and a question branch run side by
// side by mmm::Parallel, joined by FusionConcat, and a classifier over 11 answers; it was
// trained in PyTorch by tools/train_vqa.py on synthetic scenes of coloured shapes.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "vqa.hpp"

#ifndef MMM_VQA_DIR
#define MMM_VQA_DIR "examples/vqa"
#endif

namespace {

struct Question {
  std::string image, question, expected, shown;  // shown: the image's name in the output
};

// inputs.tsv: image path (relative to the file), question, expected answer; '#' comments.
std::vector<Question> shipped_inputs(const std::string& dir) {
  const std::string path = dir + "/inputs.tsv";
  std::ifstream in(path);
  if (!in) throw mmm::IoError("cannot open '" + path + "'");
  std::vector<Question> out;
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (line.empty() || line[0] == '#') continue;
    const auto a = line.find('\t'), b = a == std::string::npos ? a : line.find('\t', a + 1);
    if (b == std::string::npos)
      throw mmm::FormatError(path + ": line " + std::to_string(n) + " needs image<TAB>question<TAB>answer");
    out.push_back({dir + "/" + line.substr(0, a), line.substr(a + 1, b - a - 1), line.substr(b + 1), line.substr(0, a)});
  }
  return out;
}

void usage(const char* argv0) {
  std::fprintf(stderr,
               "usage: %s [--image PATH --question TEXT] [--model-dir DIR] [--top K] [--expect ANSWER]\n"
               "without --image: answers the shipped questions in DIR/inputs.tsv\n",
               argv0);
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir = MMM_VQA_DIR, image_path, question, expect;
  long top = 3;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", arg.c_str());
        usage(argv[0]);
        std::exit(2);
      }
      return argv[++i];
    };
    if (arg == "--image") image_path = value();
    else if (arg == "--question") question = value();
    else if (arg == "--model-dir") dir = value();
    else if (arg == "--expect") expect = value();
    else if (arg == "--top") top = std::strtol(value().c_str(), nullptr, 10);
    else if (arg == "-h" || arg == "--help") return usage(argv[0]), 0;
    else return std::fprintf(stderr, "unknown argument '%s'\n", arg.c_str()), usage(argv[0]), 2;
  }
  if (image_path.empty() != question.empty()) {
    std::fprintf(stderr, "give both --image and --question, or neither (for the shipped inputs)\n");
    return 2;
  }

  try {
    vqa::Answerer answerer(dir);
    const std::vector<Question> inputs =
        image_path.empty() ? shipped_inputs(dir) : std::vector<Question>{{image_path, question, expect, image_path}};
    std::printf("mmm visual question answering: %s\n\n", vqa::Model::name().c_str());
    int wrong = 0;
    for (const Question& q : inputs) {
      const mmm::Image image = mmm::read_image(q.image);
      const auto probabilities = answerer.probabilities(image, q.question);
      const auto best = vqa::Head::top_k(probabilities, top);
      std::printf("%s (%ldx%ld)\n  Q: %s\n", q.shown.c_str(), static_cast<long>(image.width()),
                  static_cast<long>(image.height()), q.question.c_str());
      for (std::size_t k = 0; k < best.size(); ++k)
        std::printf("  %s %-9s %5.1f%%\n", k == 0 ? "A:" : "  ", answerer.answers()[static_cast<std::size_t>(best[k].label)].c_str(),
                    100.0 * best[k].probability);
      if (!q.expected.empty()) {
        const bool right = !best.empty() && answerer.answers()[static_cast<std::size_t>(best[0].label)] == q.expected;
        wrong += !right;
        std::printf("  expected: %s %s\n", q.expected.c_str(), right ? "(right)" : "(WRONG)");
      }
      std::printf("\n");
    }
    if (!expect.empty() || image_path.empty())
      std::printf("%zu of %zu answered as expected\n", inputs.size() - static_cast<std::size_t>(wrong), inputs.size());
    return wrong == 0 ? 0 : 1;
  } catch (const mmm::Error& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "vqa: %s\n", e.what());
    return 1;
  }
}
