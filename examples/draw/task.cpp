// Text to image: a sentence in ("a small red circle above a large blue square"), a 64×64
// PNG out. The `draw` program and `mmm-run draw`.
//
//   draw                          every shipped prompt in prompts.txt, as draw1.png, draw2.png …
//                                 in the current directory (or -o DIR)
//   draw "PROMPT" [-o out.png]    one drawing (default draw.png)
//   options: --model PATH         draw.safetensors (default: this example's)
//            --check              caption each drawing with examples/caption's model (run by
//                                 mmm) and exit with status 1 unless it reads back the prompt
//            --captioner PATH     caption.safetensors for --check (default: the captioner's
//                                 weights beside this model's directory, ../caption/)
//            --list FILE          draws every prompt of FILE (one a line) and writes their raw
//                                 float32 outputs (N × 3 × 64 × 64, little-endian, before
//                                 rounding to pixels) to --raw FILE and "prompt<TAB>caption
//                                 read back" lines to stdout, for agreement.py
//
// The model (draw.hpp): an LSTM text encoder whose last state seeds a 4×4 map that an
// Upsample + Conv2D and three ConvTranspose2Ds grow to 64×64 RGB; trained in PyTorch by
// tools/train_text_to_image.py on the canonical renderings of tools/scenes.py's captions.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "../caption/reader.hpp"
#include "../support/example.hpp"
#include "draw.hpp"
#include "mmm/preprocess/image/decode.hpp"

namespace draw {
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

}  // namespace

int run(const examples::Invocation& how) {
  static const char usage[] =
      "usage: %s \"PROMPT\" [-o PATH] [--model PATH] [--check] [--captioner PATH] [--list FILE --raw FILE]\n"
      "Draws the scene a sentence describes as a 64x64 PNG (default draw.png), e.g.\n"
      "  \"a small red circle above a large blue square\" -o out.png\n"
      "in the words of the synthetic scenes it was trained on (examples/draw/README.md).\n"
      "Without a prompt, the example program draws its shipped prompts into -o DIR (default: .).\n";
  return examples::run(how, usage, [&] {
    std::string model = how.model_dir + "/draw.safetensors";
    std::string captioner = (std::filesystem::path(how.model_dir) / ".." / "caption" / "caption.safetensors").lexically_normal().string();
    std::string output, list, raw;
    bool check = false;
    examples::CommandLine line(
        {{"--model", model}, {"-o", output}, {"--output", output}, {"--captioner", captioner}, {"--list", list}, {"--raw", raw}});
    line.flag("--check", check);
    std::vector<std::string> prompts = line.parse(how.args);
    if (prompts.size() > 1)
      throw examples::UsageError{"one prompt at a time (quote it: \"a small red circle\"); got " +
                                 std::to_string(prompts.size()) + " arguments"};
    if (list.empty() != raw.empty()) throw examples::UsageError{"--list and --raw go together"};

    Painter painter(model);
    if (!list.empty()) {
      caption::Reader reader(captioner);
      std::ofstream out(raw, std::ios::binary);
      if (!out) throw mmm::IoError("cannot open '" + raw + "' for writing");
      for (const std::string& prompt : read_prompts(list)) {
        const mmm::Map<3> x = painter.canvas(prompt);
        out.write(reinterpret_cast<const char*>(x.data), static_cast<std::streamsize>(sizeof(float) * x.numel()));
        const mmm::Image& picture = painter.draw(prompt);
        std::printf("%s\t%s\n", prompt.c_str(), reader.read(picture).c_str());
      }
      if (!out.flush()) throw mmm::IoError("writing '" + raw + "' failed");
      return 0;
    }

    const bool shipped = prompts.empty();
    if (shipped) {
      if (how.shipped.empty()) throw examples::UsageError{"no prompt given"};
      prompts = read_prompts(how.shipped);
      if (!output.empty() && !std::filesystem::is_directory(output))
        throw mmm::IoError("-o '" + output + "': without a prompt, -o names the directory for the drawings");
    }
    std::unique_ptr<caption::Reader> reader;
    if (check) reader = std::make_unique<caption::Reader>(captioner);
    // One drawing first, so that the times below are those of a warm program (the first call
    // also starts the threads and sizes every buffer), as the captioner's are.
    (void)painter.draw(prompts.front());
    std::printf("mmm text to image: %s\n\n", Drawer::name().c_str());
    std::size_t wrong = 0;
    std::vector<std::uint8_t> png;
    for (std::size_t i = 0; i < prompts.size(); ++i) {
      const std::string path = !shipped ? (output.empty() ? "draw.png" : output)
                                        : (std::filesystem::path(output.empty() ? "." : output) /
                                           ("draw" + std::to_string(i + 1) + ".png")).string();
      const examples::Stopwatch clock;
      const mmm::Image& picture = painter.draw(prompts[i]);
      const double ms = clock.milliseconds();
      mmm::write_png(path, picture, png);
      std::printf("\"%s\"\n  drawn: %s (%ldx%ld)\n  %.1f ms\n", prompts[i].c_str(), path.c_str(),
                  static_cast<long>(picture.width()), static_cast<long>(picture.height()), ms);
      if (reader) {
        // From the file just written: the PNG round trip is part of what is checked.
        const std::string read = reader->read(mmm::read_image(path));
        wrong += read != prompts[i];
        std::printf("  the captioner reads: %s %s\n", read.c_str(), read == prompts[i] ? "(right)" : "(WRONG)");
      }
      std::printf("\n");
    }
    if (reader) std::printf("%zu of %zu drawings read back as their prompts\n", prompts.size() - wrong, prompts.size());
    return wrong == 0 ? 0 : 1;
  });
}

// The methods of draw.hpp, here so that the model's templates compile once for the
// draw program, mmm-run, the parity test (tests/apps) and the application benchmark,
// which all link this TU (each of those that compiled the model itself spent 15-30 CPU-s
// on the same templates).

mmm::Feat<text_dim> TextEncoder::forward(const mmm::Tokens& tokens, mmm::Workspace& ws) const {
  const mmm::Workspace::Mark start = ws.mark();
  const mmm::Seq<embed_dim> e = embed_.forward(tokens, ws);
  // An item's final state is the one at its last valid step (packed-sequence semantics):
  // torch's y[arange(N), lengths − 1].
  const auto out = lstm_.forward_with_states(e, ws);
  const mmm::Feat<text_dim> h(out.h_n.data(), tokens.batch);
  ws.release_except(start, h);
  return h;
}

mmm::Map<3> Drawer::forward(const mmm::Tokens& tokens, mmm::Workspace& ws) const {
  const mmm::Workspace::Mark start = ws.mark();
  auto keep = [&](const auto& y) {
    ws.release_except(start, y);
    return y;
  };
  const mmm::Feat<text_dim> text = keep(text_.forward(tokens, ws));
  const auto seed = keep(seed_.forward_fused(text, ws, mmm::kernels::Activation::relu));
  const mmm::Map<seed_channels> x(seed.data, tokens.batch, seed_side, seed_side);  // torch's view(-1, 128, 4, 4)
  const mmm::Map<seed_channels> doubled = keep(mmm::Upsample<mmm::Upsampling{.scale = 2}>{}.forward(x, ws));
  const mmm::Map<96> u1 = keep(up1_.forward_fused(doubled, ws, mmm::kernels::Activation::relu));
  const mmm::Map<64> u2 = keep(up2_.forward_fused(u1, ws, mmm::kernels::Activation::relu));
  const mmm::Map<32> u3 = keep(up3_.forward_fused(u2, ws, mmm::kernels::Activation::relu));
  const mmm::Map<16> u4 = keep(up4_.forward_fused(u3, ws, mmm::kernels::Activation::relu));
  return keep(to_rgb_.forward_fused(u4, ws, mmm::kernels::Activation::tanh));
}

Painter::Painter(const std::string& path) {
  const mmm::SafeTensors weights(path);
  mmm::load(model_, weights);
  std::vector<std::string> words = examples::metadata_list(weights, "vocabulary", vocab_size, "words");
  if (weights.metadata_integer("image_size", 1, 1 << 16) != image_size)
    throw mmm::FormatError(weights.path() + ": metadata 'image_size' is " + weights.metadata("image_size") +
                           ", this model draws " + std::to_string(image_size) + "×" + std::to_string(image_size));
  mean_ = static_cast<float>(weights.metadata_number("mean"));
  std_ = static_cast<float>(weights.metadata_number("std"));
  read_back_ = weights.metadata_number("read_back_accuracy");
  prompt_ = PromptReader(std::move(words));
}

mmm::Map<3> Painter::canvas(std::string_view prompt) {
  const std::span<const std::int32_t> ids = tokens(prompt);
  workspace_.reset();
  return model_.forward(mmm::Tokens(ids.data(), 1, static_cast<index>(ids.size())), workspace_);
}

const mmm::Image& Painter::draw(std::string_view prompt) {
  const mmm::Map<3> x = canvas(prompt);
  const std::array<float, 3> mean{mean_, mean_, mean_}, std{std_, std_, std_};
  mmm::to_pixels(x, 0, mean, std, picture_);
  return picture_;
}

}  // namespace draw
