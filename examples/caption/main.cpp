// Image captioning: an image in, a sentence out ("a small red circle to the left of a large
// blue square").
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
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "caption.hpp"

#ifndef MMM_CAPTION_DIR
#define MMM_CAPTION_DIR "examples/caption"
#endif

namespace {

struct Input {
  std::string path, expected, shown;
};

// inputs.tsv / --list: image path (relative to the file), optionally a tab and the caption.
std::vector<Input> read_list(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw mmm::IoError("cannot open '" + path + "'");
  const std::string dir = std::filesystem::path(path).parent_path().string();
  std::vector<Input> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const auto tab = line.find('\t');
    const std::string image = line.substr(0, tab);
    out.push_back({(dir.empty() ? "" : dir + "/") + image, tab == std::string::npos ? "" : line.substr(tab + 1), image});
  }
  if (out.empty()) throw mmm::FormatError("'" + path + "' names no images");
  return out;
}

void usage(std::FILE* to, const char* argv0) {
  std::fprintf(to,
               "usage: %s [IMAGE ...] [--model PATH] [--width K] [--expect TEXT] [--list FILE]\n"
               "Describes each image (PNG, JPEG, BMP, PPM; any size, resized to 64x64) in one sentence.\n"
               "Without images: the shipped scenes in %s/inputs.tsv.\n",
               argv0, MMM_CAPTION_DIR);
}

}  // namespace

int main(int argc, char** argv) {
  std::string model = std::string(MMM_CAPTION_DIR) + "/caption.safetensors", expect, list;
  std::vector<std::string> images;
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
    } else if (!arg.empty() && arg[0] == '-') {
      std::fprintf(stderr, "unknown option '%s'\n", arg.c_str());
      usage(stderr, argv[0]);
      return 2;
    } else {
      images.push_back(arg);
    }
  }
  if (!expect.empty() && images.size() != 1) {
    std::fprintf(stderr, "--expect needs exactly one image\n");
    return 2;
  }

  try {
    caption::Describer describer(model);
    if (!list.empty()) {
      for (const Input& in : read_list(list)) {
        const auto r = describer.describe(mmm::read_image(in.path), width);
        std::printf("%s\t%s\t%.9g\n", in.shown.c_str(), r.text.c_str(), static_cast<double>(r.score));
      }
      return 0;
    }
    std::vector<Input> inputs;
    if (images.empty()) inputs = read_list(std::string(MMM_CAPTION_DIR) + "/inputs.tsv");
    for (const std::string& path : images) inputs.push_back({path, expect, path});

    std::printf("mmm image captioning: %s\n\n", caption::Captioner::name().c_str());
    int wrong = 0;
    for (const Input& in : inputs) {
      const mmm::Image image = mmm::read_image(in.path);
      const auto start = std::chrono::steady_clock::now();
      const auto r = describer.describe(image, width);
      const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
      std::printf("%s (%ldx%ld)\n  caption: %s\n", in.shown.c_str(), static_cast<long>(image.width()),
                  static_cast<long>(image.height()), r.text.c_str());
      if (!in.expected.empty()) {
        const bool right = r.text == in.expected;
        wrong += !right;
        std::printf("  true:    %s %s\n", in.expected.c_str(), right ? "(right)" : "(WRONG)");
      }
      std::printf("  %.1f ms (beam width %ld)\n\n", ms, static_cast<long>(width > 0 ? width : describer.beam_width()));
    }
    if (!expect.empty() || images.empty())
      std::printf("%zu of %zu captions as expected\n", inputs.size() - static_cast<std::size_t>(wrong), inputs.size());
    return wrong == 0 ? 0 : 1;
  } catch (const mmm::Error& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "caption: %s\n", e.what());
    return 1;
  }
}
