// The image-captioning application (examples/caption) against PyTorch, with its shipped
// weights, on a slice of its held-out scenes and on fresh ones (oracle: caption_oracle.py):
// preprocessing, the image memory, every position's logits (the full teacher-forced forward
// and the KV-cache steps), and the beam-search and greedy captions, token for token. Then:
// a caption allocates nothing once warm, and bad files are typed errors.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "mmm/pipeline.hpp"

#include "caption.hpp"
#include "support/allocation_counter.hpp"
#include "support/oracle.hpp"

using namespace mmm;
using test::OracleCase;
using test::require_close;

namespace {

// The memory and the logits are compared element by element at 1e-4 relative with the floor
// at 1% of the tensor's largest element, not the default 0.1%. Through the encoder and the
// decoder, float32 rounding leaves ~1e-6 absolute on logits of size ~10 — on the elements
// that cancel to near zero that is 1e-4 of the default floor, for PyTorch itself: measured
// on 120 scenes, PyTorch float32 against its own float64 evaluation of the same weights
// reached 1.08e-4 and mmm against PyTorch 1.7e-4 at the 0.1% floor; at the 1% floor they
// were 1.3e-5 and 2.6e-5 (mmm against float64: 2.0e-5). The float64 logits are checked too,
// so agreeing with PyTorch is also agreeing with the exact answer.
constexpr double deep_floor = 1e-2;

caption::Describer& describer() {
  static caption::Describer d(std::string(MMM_CAPTION_DIR) + "/caption.safetensors");
  return d;
}

Image scene_image(const IntTensor& pixels) {
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(pixels.numel()));
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<std::uint8_t>(pixels[static_cast<Index>(i)]);
  return Image::from_pixels(bytes, pixels.shape()[0], pixels.shape()[1], 3);
}

void require_tokens(std::span<const std::int32_t> ours, const IntTensor& theirs, const std::string& what) {
  INFO(what);
  REQUIRE(static_cast<Index>(ours.size()) == theirs.numel());
  for (std::size_t t = 0; t < ours.size(); ++t) CHECK(ours[t] == theirs[static_cast<Index>(t)]);
}

}  // namespace

TEST_CASE("the captioner gives PyTorch's memory, logits and captions on held-out and fresh scenes") {
  const caption::Captioner& model = describer().model();
  int cases = 0, same = 0, right = 0;
  for (;; ++cases) {
    const std::string name = "scene" + std::to_string(cases);
    if (!std::filesystem::exists(test::oracle_dir() / (name + ".safetensors"))) break;
    OracleCase c(name);
    INFO(name << " (" << c.meta("kind") << "): " << c.meta("truth"));

    const Tensor& input = describer().image_input(scene_image(c.int_input("pixels")));
    require_close(input, c.output("image"), 1e-4, name + " image");

    Workspace ws;
    const Seq<caption::dim> memory = model.forward(Map<3>(input), ws);
    require_close(memory.to_tensor(), c.output("memory"), 1e-4, name + " memory", deep_floor);

    // Every position of PyTorch's beam caption, all at once and one KV-cache step at a time.
    const IntTensor tokens = c.int_input("tokens");
    const Index length = tokens.shape()[1];
    const Seq<caption::vocab_size> logits = model.logits(memory, Tokens(tokens.view()), ws);
    require_close(logits.to_tensor(), c.output("logits"), 1e-4, name + " teacher-forced logits", deep_floor);
    require_close(logits.to_tensor(), c.output("exact_logits"), 1e-4, name + " logits vs float64", deep_floor);
    caption::Captioner::State state = model.make_state(1, caption::max_length);
    model.condition(state, memory, ws);
    Tensor stepped(Shape{1, length, caption::vocab_size});
    for (Index t = 0; t < length; ++t) {
      const Feat<caption::vocab_size> y = model.step(Tokens(tokens.data() + t, 1, 1), state, ws);
      std::copy(y.data, y.data + caption::vocab_size, stepped.data() + t * caption::vocab_size);
    }
    require_close(stepped, c.output("logits"), 1e-4, name + " step logits", deep_floor);

    const generate::Hypotheses beam = describer().beam(input);
    require_tokens(beam.tokens(0), c.int_output("beam"), name + " beam tokens");
    const double score = std::stod(c.meta("beam_score"));
    CHECK(std::abs(beam.score(0) - score) <= 1e-4 * std::max(1.0, std::abs(score)));
    const std::string text = describer().text(beam.tokens(0));
    CHECK(text == c.meta("caption"));
    same += text == c.meta("caption");
    right += text == c.meta("truth");

    const generate::Hypotheses greedy = describer().greedy(input);
    require_tokens(greedy.tokens(0), c.int_output("greedy"), name + " greedy tokens");
  }
  REQUIRE(cases > 0);
  CHECK(same == cases);
  WARN(same << " of " << cases << " captions as PyTorch's, " << right << " of " << cases << " right");
}

TEST_CASE("a caption allocates nothing once the describer has run one of the same width") {
  caption::Describer& d = describer();
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(caption::image_size * caption::image_size * 3));
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<std::uint8_t>(i * 37 % 251);
  const Image image = Image::from_pixels(bytes, caption::image_size, caption::image_size, 3);
  const Tensor& input = d.image_input(image);
  (void)d.beam(input);
  (void)d.beam(input);
  std::int64_t checksum = 0;
  const long during = test::allocations_during([&] { checksum += d.beam(input).tokens(0).size(); }, 5);
  (void)d.greedy(input);
  const long greedy = test::allocations_during([&] { checksum += d.greedy(input).tokens(0).size(); }, 5);
#if !MMM_SANITIZED_BUILD
  CHECK(during == 0);
  CHECK(greedy == 0);
#endif
  CHECK(checksum > 0);
  // The counter sees allocations (a describe() builds its strings).
  const long before = test::allocations();
  (void)d.describe(image);
  CHECK(test::allocations() > before);
}

TEST_CASE("bad model files and images are typed errors naming the file") {
  const auto dir = std::filesystem::temp_directory_path() / "mmm_caption_errors";
  std::filesystem::create_directories(dir);
  const std::string missing = (dir / "missing.safetensors").string();
  std::filesystem::remove(missing);
  CHECK_THROWS_AS(caption::Describer(missing), IoError);
  const std::string junk = (dir / "junk.png").string();
  std::ofstream(junk) << "not an image at all";
  CHECK_THROWS_AS(read_image(junk), Error);
  // The vqa weights are a valid file of another model: named tensors missing.
  CHECK_THROWS_AS(caption::Describer(std::string(MMM_CAPTION_DIR) + "/../vqa/vqa.safetensors"), Error);
}
