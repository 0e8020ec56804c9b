// The multimodal assistant: an image and a question in, a free-text answer out
// ("what colour is the square?" → "the square is blue").
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
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "assistant.hpp"

#ifndef MMM_ASSISTANT_DIR
#define MMM_ASSISTANT_DIR "examples/assistant"
#endif

namespace {

struct Input {
  std::string image, question, expected, shown;
};

// inputs.tsv / --list: image path (relative to the file), a tab, the question, optionally a
// tab and the answer.
std::vector<Input> read_list(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw mmm::IoError("cannot open '" + path + "'");
  const std::string dir = std::filesystem::path(path).parent_path().string();
  std::vector<Input> out;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (line.empty() || line[0] == '#') continue;
    const auto tab = line.find('\t');
    if (tab == std::string::npos)
      throw mmm::FormatError(path + ":" + std::to_string(number) + ": needs an image, a tab and a question");
    const auto second = line.find('\t', tab + 1);
    const std::string image = line.substr(0, tab);
    const std::string question = line.substr(tab + 1, second == std::string::npos ? std::string::npos : second - tab - 1);
    out.push_back({(dir.empty() ? "" : dir + "/") + image, question,
                   second == std::string::npos ? "" : line.substr(second + 1), image});
  }
  if (out.empty()) throw mmm::FormatError("'" + path + "' names no images");
  return out;
}

void usage(std::FILE* to, const char* argv0) {
  std::fprintf(to,
               "usage: %s [IMAGE QUESTION ...] [--model PATH] [--width K] [--expect TEXT] [--list FILE]\n"
               "Answers questions about an image (PNG, JPEG, BMP, PPM; any size, resized to 64x64), e.g.\n"
               "  %s photo.png \"what colour is the square?\"\n"
               "It knows colours, shapes, counts, positions and sizes: what color is the X? what shape is\n"
               "the COLOR object? how many objects are there? where is the X? how big is the X?\n"
               "is there a COLOR X?\n"
               "Without arguments: the shipped scenes and questions in %s/inputs.tsv.\n",
               argv0, argv0, MMM_ASSISTANT_DIR);
}

}  // namespace

int main(int argc, char** argv) {
  std::string model = std::string(MMM_ASSISTANT_DIR) + "/assistant.safetensors", expect, list;
  std::vector<std::string> positional;
  long width = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", arg.c_str());
        usage(stderr, argv[0]);
        std::exit(2);
      }
      return argv[++i];
    };
    if (arg == "--model") model = value();
    else if (arg == "--expect") expect = value();
    else if (arg == "--list") list = value();
    else if (arg == "--width") {
      const std::string v = value();
      char* end = nullptr;
      width = std::strtol(v.c_str(), &end, 10);
      if (*end != '\0' || width < 1 || width > 64) {
        std::fprintf(stderr, "--width needs a whole number from 1 to 64, got '%s'\n", v.c_str());
        return 2;
      }
    } else if (arg == "-h" || arg == "--help") {
      usage(stdout, argv[0]);
      return 0;
    } else if (arg.size() > 1 && arg[0] == '-') {
      std::fprintf(stderr, "unknown option '%s'\n", arg.c_str());
      usage(stderr, argv[0]);
      return 2;
    } else {
      positional.push_back(arg);
    }
  }
  if (positional.size() == 1) {
    std::fprintf(stderr, "%s: a question about it is missing\n", positional[0].c_str());
    usage(stderr, argv[0]);
    return 2;
  }
  if (!expect.empty() && positional.size() != 2) {
    std::fprintf(stderr, "--expect needs exactly one image and one question\n");
    return 2;
  }

  try {
    assistant::Answerer answerer(model);
    if (!list.empty()) {
      for (const Input& in : read_list(list)) {
        const auto r = answerer.answer(mmm::read_image(in.image), in.question, width);
        std::printf("%s\t%s\t%s\t%.9g\n", in.shown.c_str(), in.question.c_str(), r.text.c_str(), static_cast<double>(r.score));
      }
      return 0;
    }
    std::vector<Input> inputs;
    if (positional.empty()) inputs = read_list(std::string(MMM_ASSISTANT_DIR) + "/inputs.tsv");
    for (std::size_t q = 1; q < positional.size(); ++q) inputs.push_back({positional[0], positional[q], expect, positional[0]});

    std::printf("mmm multimodal assistant: %s\n\n", assistant::Assistant::name().c_str());
    int wrong = 0;
    std::string shown;
    mmm::Image image;
    for (const Input& in : inputs) {
      if (in.image != shown) {
        image = mmm::read_image(in.image);
        shown = in.image;
        std::printf("%s (%ldx%ld)\n", in.shown.c_str(), static_cast<long>(image.width()), static_cast<long>(image.height()));
      }
      const auto start = std::chrono::steady_clock::now();
      const auto r = answerer.answer(image, in.question, width);
      const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
      std::printf("  Q: %s\n  A: %s\n", in.question.c_str(), r.text.c_str());
      if (!in.expected.empty()) {
        const bool right = r.text == in.expected;
        wrong += !right;
        std::printf("  true: %s %s\n", in.expected.c_str(), right ? "(right)" : "(WRONG)");
      }
      const long w = width > 0 ? width : static_cast<long>(answerer.beam_width());
      std::printf("  %.2f ms (%s)\n\n", ms, w == 1 ? "greedy" : ("beam width " + std::to_string(w)).c_str());
    }
    if (!expect.empty() || positional.empty())
      std::printf("%zu of %zu answers as expected\n", inputs.size() - static_cast<std::size_t>(wrong), inputs.size());
    return wrong == 0 ? 0 : 1;
  } catch (const mmm::Error& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "assistant: %s\n", e.what());
    return 1;
  }
}
