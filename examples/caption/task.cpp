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

}  // namespace caption
