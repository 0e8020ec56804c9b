// Text to image: a sentence in ("a small red circle above a large blue square"), a 64×64
// PNG out.
//
//   draw                          every shipped prompt in prompts.txt, as draw1.png, draw2.png …
//                                 in the current directory (or -o DIR)
//   draw "PROMPT" [-o out.png]    one drawing (default draw.png)
//   options: --model PATH         draw.safetensors (default: this example's)
//            --check              caption each drawing with examples/caption's model (run by
//                                 mmm) and exit with status 1 unless it reads back the prompt
//            --captioner PATH     caption.safetensors for --check (default: examples/caption's)
//            --list FILE          draws every prompt of FILE (one a line) and writes their raw
//                                 float32 outputs (N × 3 × 64 × 64, little-endian, before
//                                 rounding to pixels) to --raw FILE and "prompt<TAB>caption
//                                 read back" lines to stdout, for agreement.py
//
// The model (draw.hpp): an LSTM text encoder whose last state seeds a 4×4 map that an
// Upsample + Conv2D and three ConvTranspose2Ds grow to 64×64 RGB; trained in PyTorch by
// tools/train_text_to_image.py on the canonical renderings of tools/scenes.py's captions.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "caption.hpp"
#include "draw.hpp"

#ifndef MMM_DRAW_DIR
#define MMM_DRAW_DIR "examples/draw"
#endif
#ifndef MMM_CAPTION_DIR
#define MMM_CAPTION_DIR "examples/caption"
#endif

namespace {

// prompts.txt / --list: one prompt a line; blank lines and '#' comments skipped.
std::vector<std::string> read_prompts(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw mmm::IoError("cannot open '" + path + "'");
  std::vector<std::string> out;
  std::string line;
  while (std::getline(in, line))
    if (!line.empty() && line[0] != '#') out.push_back(line);
  if (out.empty()) throw mmm::FormatError("'" + path + "' holds no prompts");
  return out;
}

void usage(std::FILE* to, const char* argv0) {
  std::fprintf(to,
               "usage: %s [\"PROMPT\"] [-o PATH] [--model PATH] [--check] [--captioner PATH] [--list FILE --raw FILE]\n"
               "Draws the scene a sentence describes as a 64x64 PNG, e.g.\n"
               "  %s \"a small red circle above a large blue square\" -o out.png\n"
               "Without a prompt: the shipped prompts in %s/prompts.txt, as draw1.png ... in -o DIR (default: .).\n",
               argv0, argv0, MMM_DRAW_DIR);
}

}  // namespace

int main(int argc, char** argv) {
  std::string model = std::string(MMM_DRAW_DIR) + "/draw.safetensors";
  std::string captioner = std::string(MMM_CAPTION_DIR) + "/caption.safetensors";
  std::string output, list, raw;
  std::vector<std::string> prompts;
  bool check = false;
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
    else if (arg == "-o" || arg == "--output") output = value();
    else if (arg == "--captioner") captioner = value();
    else if (arg == "--list") list = value();
    else if (arg == "--raw") raw = value();
    else if (arg == "--check") check = true;
    else if (arg == "-h" || arg == "--help") {
      usage(stdout, argv[0]);
      return 0;
    } else if (!arg.empty() && arg[0] == '-') {
      std::fprintf(stderr, "unknown option '%s'\n", arg.c_str());
      usage(stderr, argv[0]);
      return 2;
    } else {
      prompts.push_back(arg);
    }
  }
  if (prompts.size() > 1) {
    std::fprintf(stderr, "one prompt at a time (quote it: draw \"a small red circle\"); got %zu arguments\n", prompts.size());
    return 2;
  }
  if (list.empty() != raw.empty()) {
    std::fprintf(stderr, "--list and --raw go together\n");
    return 2;
  }

  try {
    draw::Painter painter(model);
    if (!list.empty()) {
      caption::Describer describer(captioner);
      std::ofstream out(raw, std::ios::binary);
      if (!out) throw mmm::IoError("cannot open '" + raw + "' for writing");
      for (const std::string& prompt : read_prompts(list)) {
        const mmm::Map<3> x = painter.canvas(prompt);
        out.write(reinterpret_cast<const char*>(x.data), static_cast<std::streamsize>(sizeof(float) * x.numel()));
        const mmm::Image& picture = painter.draw(prompt);
        std::printf("%s\t%s\n", prompt.c_str(), describer.describe(picture).text.c_str());
      }
      if (!out.flush()) throw mmm::IoError("writing '" + raw + "' failed");
      return 0;
    }

    const bool shipped = prompts.empty();
    if (shipped) prompts = read_prompts(std::string(MMM_DRAW_DIR) + "/prompts.txt");
    if (shipped && !output.empty() && !std::filesystem::is_directory(output))
      throw mmm::IoError("-o '" + output + "': without a prompt, -o names the directory for the drawings");

    std::unique_ptr<caption::Describer> describer;
    if (check) describer = std::make_unique<caption::Describer>(captioner);
    std::printf("mmm text to image: %s\n\n", draw::Drawer::name().c_str());
    int wrong = 0;
    std::vector<std::uint8_t> png;
    for (std::size_t i = 0; i < prompts.size(); ++i) {
      const std::string path = !shipped ? (output.empty() ? "draw.png" : output)
                                        : (std::filesystem::path(output.empty() ? "." : output) /
                                           ("draw" + std::to_string(i + 1) + ".png")).string();
      const auto start = std::chrono::steady_clock::now();
      const mmm::Image& picture = painter.draw(prompts[i]);
      const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
      mmm::write_png(path, picture, png);
      std::printf("\"%s\"\n  drawn: %s (%ldx%ld)\n  %.1f ms\n", prompts[i].c_str(), path.c_str(),
                  static_cast<long>(picture.width()), static_cast<long>(picture.height()), ms);
      if (describer) {
        // From the file just written: the PNG round trip is part of what is checked.
        const std::string read = describer->describe(mmm::read_image(path)).text;
        const bool right = read == prompts[i];
        wrong += !right;
        std::printf("  the captioner reads: %s %s\n", read.c_str(), right ? "(right)" : "(WRONG)");
      }
      std::printf("\n");
    }
    if (describer)
      std::printf("%zu of %zu drawings read back as their prompts\n", prompts.size() - static_cast<std::size_t>(wrong),
                  prompts.size());
    return wrong == 0 ? 0 : 1;
  } catch (const mmm::Error& e) {
    std::fflush(stdout);
    const std::string what = e.what();
    std::fprintf(stderr, "%s%s\n", what.starts_with("draw: ") ? "" : "draw: ", what.c_str());
    return 1;
  }
}
