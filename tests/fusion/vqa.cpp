// Label parity for the VQA example: the shipped model run by mmm (examples/vqa/vqa.hpp,
// with its image and question preprocessing) against the same model run by PyTorch
// (oracle: vqa_oracle.py), on the shipped inputs and on a random padded batch.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "support/oracle.hpp"
#include "vqa.hpp"

using namespace mmm;
using test::OracleCase;
using test::require_close;

namespace {
vqa::Answerer& answerer() {
  static vqa::Answerer a(MMM_VQA_DIR);
  return a;
}
}  // namespace

TEST_CASE("the VQA model gives PyTorch's probabilities on the shipped inputs") {
  const IntTensor first = OracleCase("shipped0").int_input("tokens");  // at least one shipped input
  for (int i = 0;; ++i) {
    const std::string name = "shipped" + std::to_string(i);
    if (!std::filesystem::exists(test::oracle_dir() / (name + ".safetensors"))) break;
    OracleCase c(name);
    const std::string question = c.meta("question");
    INFO(c.meta("image") << ": " << question);
    const IntTensor tokens = c.int_input("tokens");
    const std::vector<std::int32_t> ours = answerer().tokenize(question);
    REQUIRE(static_cast<Index>(ours.size()) == tokens.numel());
    for (Index t = 0; t < tokens.numel(); ++t) CHECK(ours[static_cast<std::size_t>(t)] == tokens[t]);

    const Image image = read_image(std::string(MMM_VQA_DIR) + "/" + c.meta("image"));
    const Feat<vqa::answer_count> probs = answerer().probabilities(image, question);
    require_close(probs.to_tensor(), c.output("probs"), 1e-4, name);
    CHECK(answerer().answers()[static_cast<std::size_t>(vqa::Head::argmax(probs).label)] == c.meta("answer"));
  }
  CHECK(first.numel() > 0);
}

TEST_CASE("the VQA model gives PyTorch's probabilities on a random padded batch") {
  OracleCase c("random_batch");
  const IntTensor pixels = c.int_input("pixels"), tokens = c.int_input("tokens"), lengths = c.int_input("lengths");
  const auto questions = nlohmann::json::parse(c.meta("questions")).get<std::vector<std::string>>();
  const Index batch = pixels.shape()[0], size = vqa::image_size;
  REQUIRE(static_cast<Index>(questions.size()) == batch);

  // Each scene through the example's preprocessing, into one batch.
  Tensor images(Shape{batch, 3, size, size});
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(size * size * 3));
  for (Index b = 0; b < batch; ++b) {
    for (std::size_t i = 0; i < bytes.size(); ++i)
      bytes[i] = static_cast<std::uint8_t>(pixels[b * size * size * 3 + static_cast<Index>(i)]);
    const Image image = Image::from_pixels(bytes, size, size, 3);
    const Tensor& x = answerer().image_input(image);
    std::copy(x.data(), x.data() + x.numel(), images.data() + b * x.numel());

    const std::vector<std::int32_t> ours = answerer().tokenize(questions[static_cast<std::size_t>(b)]);
    INFO("question " << b << ": " << questions[static_cast<std::size_t>(b)]);
    REQUIRE(static_cast<Index>(ours.size()) == lengths[b]);
    for (std::size_t t = 0; t < ours.size(); ++t) CHECK(ours[t] == tokens[b * tokens.shape()[1] + static_cast<Index>(t)]);
  }
  CHECK(answerer().tokenize(questions[0])[4] == answerer().vocabulary().unk_id());

  Workspace ws;
  const Feat<vqa::answer_count> probs =
      answerer().model()(Map<3>(images), Tokens(tokens.view(), lengths.data()), ws);
  require_close(probs.to_tensor(), c.output("probs"), 1e-4, "batch of " + std::to_string(batch));
}
