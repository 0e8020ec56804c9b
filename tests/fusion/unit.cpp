// Embedding, pooling, Flatten, Parallel, FusionConcat and SoftmaxHead without PyTorch:
// names, joins, the multi-input call, and the errors bad inputs raise.
#include <catch2/catch.hpp>

#include <random>
#include <vector>

#include "mmm/pipeline.hpp"
#include "support/random_model.hpp"

using namespace mmm;
using Catch::Matchers::Contains;

namespace {

using ImageEncoder = Sequential<Flatten<3, 4, 5>, Linear<60, 8>, ReLU>;
using TextEncoder = Sequential<Embedding<11, 6>, MeanPool, Linear<6, 7>, ReLU>;
using Model = Sequential<Parallel<ImageEncoder, TextEncoder>, FusionConcat, Linear<15, 9>, ReLU, SoftmaxHead<9, 5>>;
}  // namespace

TEST_CASE("Parallel names its branches 0, 1, … below its own name, like an nn.ModuleList") {
  Model model;
  std::vector<std::string> names;
  for (const auto& [name, t] : state_dict(model)) names.push_back(name);
  CHECK(names == std::vector<std::string>{"0.0.1.weight", "0.0.1.bias", "0.1.0.weight", "0.1.2.weight", "0.1.2.bias",
                                          "2.weight", "2.bias", "4.weight", "4.bias"});
  CHECK(Parallel<Linear<2, 3>, Embedding<4, 5>>::name() == "Parallel<Linear<2, 3>, Embedding<4, 5>>");
}

TEST_CASE("the types of a Parallel model follow the design") {
  using P = Parallel<ImageEncoder, TextEncoder>;
  STATIC_REQUIRE(std::is_same_v<P::candidate_inputs, kinds<Branches<Map<3>, Tokens>>>);
  STATIC_REQUIRE(std::is_same_v<P::output<Branches<Map<3>, Tokens>>, Branches<Feat<8>, Feat<7>>>);
  STATIC_REQUIRE(std::is_same_v<Model::output<Branches<Map<3>, Tokens>>, Feat<5>>);
  STATIC_REQUIRE(P::accepts<Branches<Map<3>, Tokens>>);
  STATIC_REQUIRE_FALSE(P::accepts<Branches<Tokens, Map<3>>>);
  STATIC_REQUIRE_FALSE(P::accepts<Branches<Map<3>>>);
  STATIC_REQUIRE_FALSE(P::accepts<Map<3>>);
  // Every combination of the branches' candidates is a candidate of the Parallel.
  using Q = Parallel<Linear<2, 3>, Linear<4, 5>>;
  STATIC_REQUIRE(std::is_same_v<Q::candidate_inputs, kinds<Branches<Feat<2>, Feat<4>>, Branches<Feat<2>, Seq<4>>,
                                                           Branches<Seq<2>, Feat<4>>, Branches<Seq<2>, Seq<4>>>>);
  STATIC_REQUIRE(std::is_same_v<FusionConcat::output<Branches<Seq<3>, Feat<4>>>, Seq<7>>);
  STATIC_REQUIRE(std::is_same_v<FusionConcat::output<Branches<Feat<3>, Feat<4>>>, Feat<7>>);
  // Branches is a kind for the join checks, but not a float tensor for element-wise modules.
  STATIC_REQUIRE(TensorKind<Branches<Feat<3>, Tokens>>);
  STATIC_REQUIRE_FALSE(FloatKind<Branches<Feat<3>, Feat<3>>>);
  STATIC_REQUIRE_FALSE(ReLU::accepts<Branches<Feat<3>, Feat<3>>>);
  STATIC_REQUIRE_FALSE(FloatKind<Tokens>);
  STATIC_REQUIRE(FloatKind<Map<3>>);
}

TEST_CASE("a Parallel model takes one input per branch, with or without a Workspace") {
  Model model;
  test::fill_random(model, 1, 0.5f);
  Tensor image(Shape{2, 3, 4, 5});
  for (Index i = 0; i < image.numel(); ++i) image[i] = static_cast<float>(i % 13) / 13.0f - 0.4f;
  const std::vector<std::int32_t> ids{1, 5, 10, 0, 3, 3, 0, 0}, lengths{3, 2};
  const Tokens tokens(ids.data(), 2, 4, lengths.data());

  Workspace ws;
  const Tensor with_ws = model(Map<3>(image), tokens, ws).to_tensor();
  const Tensor owning = model(Map<3>(image), tokens);
  REQUIRE(with_ws.shape() == Shape{2, 5});
  for (Index i = 0; i < with_ws.numel(); ++i) CHECK(with_ws[i] == owning[i]);
  for (Index b = 0; b < 2; ++b) {
    float sum = 0;
    for (Index c = 0; c < 5; ++c) sum += with_ws[b * 5 + c];
    CHECK(sum == Approx(1.0f));
  }

  // The same, computed by hand from the branches: Parallel then FusionConcat then the rest.
  Workspace ws2;
  const auto branches = model.get<0>()(Map<3>(image), tokens, ws2);
  STATIC_REQUIRE(std::is_same_v<std::remove_cvref_t<decltype(branches)>, Branches<Feat<8>, Feat<7>>>);
  const Feat<15> fused = FusionConcat{}.forward(branches, ws2);
  for (Index b = 0; b < 2; ++b)
    for (Index d = 0; d < 8; ++d) CHECK(fused.data[b * 15 + d] == branches.get<0>().data[b * 8 + d]);

  // Padding ids past an item's length do not change its answer.
  std::vector<std::int32_t> other = ids;
  other[3] = 7, other[6] = 9, other[7] = 2;
  const Tensor padded_differently = model(Map<3>(image), Tokens(other.data(), 2, 4, lengths.data()));
  for (Index i = 0; i < owning.numel(); ++i) CHECK(padded_differently[i] == owning[i]);
}

TEST_CASE("a repeated forward reuses the Workspace") {
  Model model;
  test::fill_random(model, 2, 0.5f);
  Tensor image(Shape{3, 3, 4, 5});
  const std::vector<std::int32_t> ids{1, 2, 3, 4, 5, 6};
  Workspace ws;
  (void)model(Map<3>(image), Tokens(ids.data(), 3, 2), ws);
  (void)model(Map<3>(image), Tokens(ids.data(), 3, 2), ws);
  const std::size_t capacity = ws.capacity(), high_water = ws.high_water();
  for (int i = 0; i < 3; ++i) (void)model(Map<3>(image), Tokens(ids.data(), 3, 2), ws);
  CHECK(ws.capacity() == capacity);
  CHECK(ws.high_water() == high_water);
}

TEST_CASE("Embedding refuses ids outside its vocabulary, saying which and where") {
  Embedding<7, 3> emb;
  Workspace ws;
  const std::vector<std::int32_t> ids{0, 6, 1, 2, 3, 9};
  REQUIRE_THROWS_AS(emb(Tokens(ids.data(), 2, 3), ws), RangeError);
  REQUIRE_THROWS_WITH(emb(Tokens(ids.data(), 2, 3), ws), Contains("Embedding<7, 3>") && Contains("token id 9") &&
                                                             Contains("item 1, position 2") && Contains("7 ids"));
  const std::vector<std::int32_t> negative{0, -1};
  REQUIRE_THROWS_WITH(emb(Tokens(negative.data(), 1, 2), ws), Contains("token id -1") && Contains("position 1"));
  const std::vector<std::int32_t> lengths{3, 4};
  REQUIRE_THROWS_AS(emb(Tokens(ids.data(), 2, 3, lengths.data()), ws), RangeError);
  const std::vector<std::int32_t> good{0, 6, 1, 2, 3, 4};
  const Seq<3> y = emb(Tokens(good.data(), 2, 3), ws);
  CHECK(y.batch == 2);
  CHECK(y.length == 3);
}

TEST_CASE("pooling an item without valid steps is a RangeError naming the module") {
  Tensor x(Shape{2, 3, 4});
  const std::vector<std::int32_t> lengths{2, 0};
  Workspace ws;
  REQUIRE_THROWS_WITH(MeanPool{}(Seq<4>(x, lengths.data()), ws), Contains("MeanPool") && Contains("item 1"));
  REQUIRE_THROWS_WITH(LastStep{}(Seq<4>(x, lengths.data()), ws), Contains("LastStep") && Contains("item 1"));
  REQUIRE_THROWS_AS(GlobalAvgPool{}(Map<3>(nullptr, 1, 0, 4), ws), ShapeError);
}

TEST_CASE("Flatten refuses maps of another size") {
  Tensor x(Shape{1, 3, 4, 6});
  Workspace ws;
  REQUIRE_THROWS_AS((Flatten<3, 4, 5>{}(Map<3>(x), ws)), ShapeError);
  REQUIRE_THROWS_WITH((Flatten<3, 4, 5>{}(Map<3>(x), ws)), Contains("Flatten<3, 4, 5>") && Contains("4×6"));
}

TEST_CASE("FusionConcat refuses branches of different batch or length") {
  Tensor a(Shape{2, 3}), b(Shape{3, 4}), s(Shape{2, 5, 4}), t(Shape{2, 6, 4});
  Workspace ws;
  REQUIRE_THROWS_WITH((FusionConcat{}(Feat<3>(a), Feat<4>(b), ws)),
                      Contains("FusionConcat") && Contains("branch 1 has batch 3"));
  REQUIRE_THROWS_WITH((FusionConcat{}(Seq<4>(s), Seq<4>(t), ws)), Contains("FusionConcat") && Contains("6 steps"));
}

TEST_CASE("SoftmaxHead's argmax and top_k read the probabilities") {
  const std::vector<float> probs{0.1f, 0.6f, 0.05f, 0.25f, /* row 1 */ 0.3f, 0.3f, 0.4f, 0.0f};
  const Feat<4> p(probs.data(), 2);
  using Head = SoftmaxHead<3, 4>;
  CHECK(Head::argmax(p).label == 1);
  CHECK(Head::argmax(p, 1).label == 2);
  const auto top = Head::top_k(p, 3);
  REQUIRE(top.size() == 3);
  CHECK(top[0].label == 1);
  CHECK(top[1].label == 3);
  CHECK(top[2].label == 0);
  CHECK(top[1].probability == 0.25f);
  const auto ties = Head::top_k(p, 10, 1);
  REQUIRE(ties.size() == 4);
  CHECK((ties[0].label == 2 && ties[1].label == 0 && ties[2].label == 1 && ties[3].label == 3));
  REQUIRE_THROWS_AS(Head::argmax(p, 2), RangeError);
}

TEST_CASE("Conv2D refuses maps smaller than its kernel, and unprepared weights") {
  Conv2D<2, 3, Conv{.kernel = 5, .pad = 1}> conv;
  Tensor x(Shape{1, 2, 2, 9});
  Workspace ws;
  REQUIRE_THROWS_AS(conv(Map<2>(x), ws), Error);  // not prepared
  conv.prepare();
  REQUIRE_THROWS_AS(conv(Map<2>(x), ws), ShapeError);
  REQUIRE_THROWS_WITH(conv(Map<2>(x), ws), Contains("Conv2D<2, 3, kernel 5, stride 1, pad 1>") && Contains("2×9"));
  Tensor fits(Shape{1, 2, 3, 9});
  const Map<3> y = conv(Map<2>(fits), ws);
  CHECK(y.height == 1);
  CHECK(y.width == 7);
  STATIC_REQUIRE(decltype(conv)::output_size(24) == 22);
}
