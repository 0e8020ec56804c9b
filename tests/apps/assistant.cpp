// The multimodal assistant (examples/assistant) against PyTorch (oracle: assistant_oracle.py),
// with its shipped weights on a slice of its held-out questions and on fresh scenes, and
// with fresh random weights drawn each run: preprocessing of the image and the question, the
// image tokens, the prefix (image and question tokens joined), every position's logits (the
// full teacher-forced forward and the KV-cache steps after the prefill), and the greedy and
// beam-search answers, token for token. Then: an answer allocates nothing per generated
// token once warm, and bad questions and files are typed errors.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <limits>

#include "mmm/pipeline.hpp"

#include "assistant.hpp"
#include "support/allocation_counter.hpp"
#include "support/oracle.hpp"

using namespace mmm;
using test::OracleCase;
using test::require_close;

namespace {

// As tests/apps/caption.cpp explains: through a CNN and a transformer, float32 rounding
// leaves ~1e-6 absolute on logits of size ~10, which on the elements that cancel to near
// zero is more than 1e-4 relative of PyTorch's own result at the default floor; so the floor
// of the element-wise comparison is 1% of the tensor's largest element. The float64 logits
// are checked too: agreeing with PyTorch is also agreeing with the exact answer.
constexpr double deep_floor = 1e-2;

const std::string shipped_path = std::string(MMM_ASSISTANT_DIR) + "/assistant.safetensors";

assistant::Answerer& answerer(const std::string& weights) {
  static assistant::Answerer shipped(shipped_path);
  static assistant::Answerer fresh((test::oracle_dir() / "fresh.safetensors").string());
  return weights == "shipped" ? shipped : fresh;
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

// A decision PyTorch made by less than this (a gap between two scores) could go the other
// way on a last-bit difference; such a case's tokens are not compared (the logits still are).
bool decided(const OracleCase& c, const std::string& margin) { return std::stod(c.meta(margin)) > 1e-4; }

}  // namespace

TEST_CASE("the assistant gives PyTorch's tokens, logits and answers (shipped and fresh random weights)") {
  int cases = 0, same = 0, right = 0, shipped = 0, compared = 0;
  for (;; ++cases) {
    const std::string name = "case" + std::to_string(cases);
    if (!std::filesystem::exists(test::oracle_dir() / (name + ".safetensors"))) break;
    OracleCase c(name);
    const std::string weights = c.meta("weights");
    INFO(name << " (" << c.meta("kind") << " scene, " << weights << " weights): " << c.meta("question_text") << " → "
              << c.meta("truth"));
    assistant::Answerer& a = answerer(weights);
    const assistant::Assistant& model = a.model();

    const Tensor& image = a.image_input(scene_image(c.int_input("pixels")));
    require_close(image, c.output("image"), 1e-4, name + " image");
    const std::vector<std::int32_t> question = a.question_input(c.meta("question_text"));
    require_tokens(question, c.int_input("question"), name + " question ids");

    Workspace ws;
    const Seq<assistant::dim> image_tokens = model.forward(Map<3>(image), ws);
    require_close(image_tokens.to_tensor(), c.output("image_tokens"), 1e-4, name + " image tokens", deep_floor);
    const Tokens q(question.data(), 1, static_cast<Index>(question.size()));
    const Seq<assistant::dim> prefix = model.prefix(Map<3>(image), q, ws);
    require_close(prefix.to_tensor(), c.output("prefix"), 1e-4, name + " prefix", deep_floor);

    // Every position of [prefix][<bos> greedy answer], all at once and, after the prefill,
    // one KV-cache step at a time.
    const IntTensor answer = c.int_input("answer");
    const Index length = answer.shape()[1];
    const Seq<assistant::vocab_size> logits = model.logits(prefix, Tokens(answer.view()), ws);
    require_close(logits.to_tensor(), c.output("logits"), 1e-4, name + " teacher-forced logits", deep_floor);
    require_close(logits.to_tensor(), c.output("exact_logits"), 1e-4, name + " logits vs float64", deep_floor);
    assistant::Assistant::State state = model.make_state(1);
    model.condition(state, prefix, ws);
    const Tensor expected = c.output("logits");
    const Index p = prefix.length;
    Tensor stepped(Shape{1, length, assistant::vocab_size}), theirs(Shape{1, length, assistant::vocab_size});
    for (Index t = 0; t < length; ++t) {
      const Feat<assistant::vocab_size> y = model.step(Tokens(answer.data() + t, 1, 1), state, ws);
      std::copy(y.data, y.data + assistant::vocab_size, stepped.data() + t * assistant::vocab_size);
      std::copy(expected.data() + (p + t) * assistant::vocab_size, expected.data() + (p + t + 1) * assistant::vocab_size,
                theirs.data() + t * assistant::vocab_size);
    }
    require_close(stepped, theirs, 1e-4, name + " step logits", deep_floor);

    const generate::Hypotheses greedy = a.greedy(image, question);
    if (decided(c, "greedy_margin")) {
      require_tokens(greedy.tokens(0), c.int_output("greedy"), name + " greedy tokens");
      const double score = std::stod(c.meta("greedy_score"));
      CHECK(std::abs(greedy.score(0) - score) <= 1e-4 * std::max(1.0, std::abs(score)));
      ++compared;
    }
    const std::string text = a.text(greedy.tokens(0));
    const Index width = std::stol(c.meta("beam_width"));
    const generate::Hypotheses beam = a.beam(image, question, width);
    if (decided(c, "beam_margin")) {
      require_tokens(beam.tokens(0), c.int_output("beam"), name + " beam tokens");
      const double score = std::stod(c.meta("beam_score"));
      CHECK(std::abs(beam.score(0) - score) <= 1e-4 * std::max(1.0, std::abs(score)));
    }
    if (weights == "shipped") {
      ++shipped;
      CHECK(text == c.meta("answer_text"));
      same += text == c.meta("answer_text");
      right += text == c.meta("truth");
    }
  }
  REQUIRE(cases > 0);
  REQUIRE(shipped > 0);
  CHECK(compared > cases / 2);
  WARN(same << " of " << shipped << " shipped-weight answers as PyTorch's, " << right << " right; tokens compared on "
            << compared << " of " << cases << " cases (the others had a decision closer than 1e-4)");
}

TEST_CASE("an answer allocates nothing once the answerer has run one of the same width") {
  assistant::Answerer& a = answerer("shipped");
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(assistant::image_size * assistant::image_size * 3));
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<std::uint8_t>(i * 37 % 251);
  const Image image = Image::from_pixels(bytes, assistant::image_size, assistant::image_size, 3);
  const Tensor& input = a.image_input(image);
  const std::vector<std::int32_t> question = a.question_input("what colour is the square?");
  std::int64_t checksum = 0;
  (void)a.greedy(input, question);
  (void)a.greedy(input, question);
  const long greedy = test::allocations_during([&] { checksum += a.greedy(input, question).tokens(0).size(); }, 5);
  (void)a.beam(input, question, 3);
  (void)a.beam(input, question, 3);
  const long beam = test::allocations_during([&] { checksum += a.beam(input, question, 3).tokens(0).size(); }, 5);
#if !MMM_SANITIZED_BUILD
  CHECK(greedy == 0);
  CHECK(beam == 0);
#else
  (void)greedy;  // the sanitizers' runtime allocates on its own
  (void)beam;
#endif
  CHECK(checksum > 0);
  // The counter sees allocations (an answer() builds its strings).
  const long before = test::allocations();
  (void)a.answer(image, "how many objects are there?");
  CHECK(test::allocations() > before);
}

TEST_CASE("questions are read as the model was trained on them") {
  using V = std::vector<std::string>;
  CHECK(assistant::question_words("What colour is the Square?") == V{"what", "colour", "is", "the", "square", "?"});
  CHECK(assistant::question_words("how many objects are there") == V{"how", "many", "objects", "are", "there", "?"});
  CHECK(assistant::question_words("  where is the circle ? ?") == V{"where", "is", "the", "circle", "?"});
  assistant::Answerer& a = answerer("shipped");
  CHECK(a.question_input("What color is the square?") == a.question_input("what color is the square ?"));
}

TEST_CASE("unknown words, long questions and bad files are typed errors that say what is wrong") {
  assistant::Answerer& a = answerer("shipped");
  CHECK_THROWS_AS(a.question_input("what colour is the hexagon?"), RangeError);
  CHECK_THROWS_WITH(a.question_input("what colour is the hexagon?"), Catch::Matchers::Contains("'hexagon'"));
  CHECK_THROWS_AS(a.question_input("?"), RangeError);
  const char* long_question = "is there a red square and a blue circle and a green triangle ?";
  CHECK_THROWS_AS(a.question_input(long_question), RangeError);
  CHECK_THROWS_WITH(a.question_input(long_question), Catch::Matchers::Contains("at most 12"));

  const auto dir = std::filesystem::temp_directory_path() / "mmm_assistant_errors";
  std::filesystem::create_directories(dir);
  const std::string missing = (dir / "missing.safetensors").string();
  std::filesystem::remove(missing);
  CHECK_THROWS_AS(assistant::Answerer(missing), IoError);
  const std::string junk = (dir / "junk.safetensors").string();
  std::ofstream(junk) << "not a safetensors file";
  CHECK_THROWS_AS(assistant::Answerer(junk), FormatError);
  // The captioner's weights are a valid file of another model: its tensors do not fit.
  const std::string captioner = std::string(MMM_ASSISTANT_DIR) + "/../caption/caption.safetensors";
  CHECK_THROWS_AS(assistant::Answerer(captioner), ParameterError);
  CHECK_THROWS_WITH(assistant::Answerer(captioner), Catch::Matchers::Contains("question_lstm"));
}
