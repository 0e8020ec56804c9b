// Fork, the fusions, SequenceJoin and the head's read-outs without PyTorch: names, the types
// of the joins (and which branch a failed join names), and the errors bad inputs raise.
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "mmm/pipeline.hpp"
#include "support/random_model.hpp"

using namespace mmm;
using Catch::Matchers::Contains;

TEST_CASE("Fork names its branches 0, 1, … and gives Branches of what each gives") {
  using F = Fork<Sequential<Linear<4, 6>, ReLU>, Linear<4, 3>>;
  Sequential<F, FusionConcat, Linear<9, 2>> model;
  std::vector<std::string> names;
  for (const auto& [name, t] : state_dict(model)) names.push_back(name);
  CHECK(names == std::vector<std::string>{"0.0.0.weight", "0.0.0.bias", "0.1.weight", "0.1.bias", "2.weight", "2.bias"});
  CHECK(F::name() == "Fork<Sequential<Linear<4, 6>, ReLU>, Linear<4, 3>>");
  STATIC_REQUIRE(std::is_same_v<F::candidate_inputs, kinds<Feat<4>, Seq<4>>>);
  STATIC_REQUIRE(std::is_same_v<F::output<Seq<4>>, Branches<Seq<6>, Seq<3>>>);
  STATIC_REQUIRE_FALSE(F::accepts<Feat<5>>);
  STATIC_REQUIRE(std::is_same_v<F::expects<Feat<5>>, in_branch<0, Feat<4>>>);
  // Branches that take anything leave the check to the call.
  STATIC_REQUIRE(std::is_same_v<Fork<ReLU, Tanh>::candidate_inputs, kinds<>>);
  STATIC_REQUIRE(std::is_same_v<Fork<ReLU, Linear<2, 3>>::candidate_inputs, kinds<Feat<2>, Seq<2>>>);
  STATIC_REQUIRE(std::is_same_v<Fork<Embedding<5, 3>, Embedding<7, 3>>::candidate_inputs, kinds<Tokens>>);

  test::fill_random(model, 3, 0.5f);
  Tensor x(Shape{3, 4});
  for (Index i = 0; i < x.numel(); ++i) x[i] = std::sin(static_cast<float>(i));
  Workspace ws;
  const Feat<2> y = model(Feat<4>(x), ws);
  // By hand: both branches on the same input.
  Workspace ws2;
  const auto a = model.get<0>().get<0>()(Feat<4>(x), ws2).to_tensor();
  const auto b = model.get<0>().get<1>()(Feat<4>(x), ws2).to_tensor();
  Tensor cat(Shape{3, 9});
  for (Index r = 0; r < 3; ++r) {
    for (Index d = 0; d < 6; ++d) cat[r * 9 + d] = a[r * 6 + d];
    for (Index d = 0; d < 3; ++d) cat[r * 9 + 6 + d] = b[r * 3 + d];
  }
  const Tensor expected = model.get<2>()(Feat<9>(cat));
  for (Index i = 0; i < expected.numel(); ++i) CHECK(y.data[i] == Approx(expected[i]).epsilon(1e-5));
}

TEST_CASE("a join that fails names the branch") {
  using P = Parallel<Linear<4, 6>, Embedding<11, 6>>;
  STATIC_REQUIRE(std::is_same_v<P::expects<Branches<Feat<4>, Feat<6>>>, in_branch<1, Tokens>>);
  STATIC_REQUIRE(std::is_same_v<P::expects<Branches<Feat<5>, Tokens>>, in_branch<0, Feat<4>>>);
  STATIC_REQUIRE(std::is_same_v<P::expects<Feat<4>>, one_input_per_branch<2>>);
  STATIC_REQUIRE(std::is_same_v<FusionSum::expects<Branches<Feat<8>, Feat<8>, Seq<7>>>, in_branch<2, Seq<8>>>);
  STATIC_REQUIRE(std::is_same_v<FusionSum::expects<Branches<Feat<8>, Map<8>>>, in_branch<1, feat_or_seq<8>>>);
  STATIC_REQUIRE(std::is_same_v<FusionSum::expects<Branches<Tokens, Feat<8>>>, in_branch<0, any_row_kind>>);
  STATIC_REQUIRE(std::is_same_v<FusionConcat::expects<Branches<Feat<8>, Tokens>>, in_branch<1, feat_seq_or_map>>);
  STATIC_REQUIRE(std::is_same_v<SequenceJoin::expects<Branches<Seq<8>, Seq<9>>>, in_branch<1, Seq<8>>>);
  using G = GatedFusion<4, 5, 7>;
  STATIC_REQUIRE(std::is_same_v<G::expects<Branches<Seq<5>, Seq<6>>>, in_branch<1, Seq<7>>>);
  STATIC_REQUIRE(std::is_same_v<G::expects<Branches<Seq<5>>>, one_input_per_branch<2>>);
  STATIC_REQUIRE(std::is_same_v<G::output<Branches<Feat<5>, Seq<7>>>, Seq<4>>);
  STATIC_REQUIRE(std::is_same_v<G::output<Branches<Feat<5>, Feat<7>>>, Feat<4>>);
  STATIC_REQUIRE(std::is_same_v<FusionProduct::output<Branches<Feat<3>, Seq<3>>>, Seq<3>>);
  STATIC_REQUIRE(std::is_same_v<FusionConcat::output<Branches<Map<3>, Feat<4>>>, Seq<7>>);
  STATIC_REQUIRE(std::is_same_v<SequenceJoin::output<Branches<Feat<3>, Feat<3>>>, Seq<3>>);
}

TEST_CASE("GatedFusion names its parameters as the torch reference module does") {
  std::vector<std::string> names;
  GatedFusion<6, 5, 9, 4> three;
  for (const auto& [name, t] : state_dict(three)) names.push_back(name + " " + t->shape().str());
  CHECK(names == std::vector<std::string>{"proj.0.weight [6, 5]", "proj.0.bias [6]", "proj.1.weight [6, 9]",
                                          "proj.1.bias [6]", "proj.2.weight [6, 4]", "proj.2.bias [6]",
                                          "gate.weight [18, 18]", "gate.bias [18]"});
  names.clear();
  GatedFusion<3, 2, 4> two;
  for (const auto& [name, t] : state_dict(two)) names.push_back(name + " " + t->shape().str());
  CHECK(names.back() == "gate.bias [3]");
  CHECK(GatedFusion<3, 2, 4>::name() == "GatedFusion<3, 2, 4>");
}

TEST_CASE("branches of different batch sizes are a ShapeError naming the module and the branch") {
  Tensor a(Shape{2, 4}), b(Shape{3, 4}), s(Shape{2, 5, 4}), t(Shape{2, 6, 4}), m(Shape{2, 4, 2, 2});
  Workspace ws;
  REQUIRE_THROWS_AS((FusionSum{}(Feat<4>(a), Feat<4>(b), ws)), ShapeError);
  REQUIRE_THROWS_WITH((FusionSum{}(Feat<4>(a), Feat<4>(b), ws)),
                      Contains("FusionSum") && Contains("branch 1 has batch 3") && Contains("branch 0 has 2"));
  REQUIRE_THROWS_WITH((FusionProduct{}(Seq<4>(s), Feat<4>(b), ws)), Contains("FusionProduct") && Contains("branch 1"));
  REQUIRE_THROWS_WITH((SequenceJoin{}(Seq<4>(s), Feat<4>(b), ws)), Contains("SequenceJoin") && Contains("batch 3"));
  REQUIRE_THROWS_WITH((FusionSum{}(Seq<4>(s), Seq<4>(t), ws)), Contains("6 steps") && Contains("branch 0 has 5"));
  // A map's positions are its steps: 2×2 = 4, not 5.
  REQUIRE_THROWS_WITH((FusionConcat{}(Seq<4>(s), Map<4>(m), ws)), Contains("FusionConcat") && Contains("4 steps"));
  GatedFusion<3, 4, 4> gated;
  gated.prepare();
  REQUIRE_THROWS_WITH((gated(Feat<4>(a), Feat<4>(b), ws)), Contains("GatedFusion<3, 4, 4>") && Contains("batch 3"));

  // Parallel checks its inputs before any branch runs.
  Parallel<Linear<4, 2>, Embedding<5, 2>> parallel;
  parallel.prepare();
  const std::vector<std::int32_t> ids{1, 2, 3};
  REQUIRE_THROWS_AS(parallel(Feat<4>(a), Tokens(ids.data(), 3, 1), ws), ShapeError);
  REQUIRE_THROWS_WITH(parallel(Feat<4>(a), Tokens(ids.data(), 3, 1), ws),
                      Contains("Parallel<Linear<4, 2>, Embedding<5, 2>>") && Contains("branch 1 has batch 3"));
}

TEST_CASE("sequence branches must agree on their valid lengths; SequenceJoin refuses impossible ones") {
  Tensor s(Shape{2, 5, 4}), t(Shape{2, 5, 4});
  const std::vector<std::int32_t> a{5, 2}, b{5, 3}, bad{6, 1};
  Workspace ws;
  REQUIRE_THROWS_WITH((FusionSum{}(Seq<4>(s, a.data()), Seq<4>(t, b.data()), ws)),
                      Contains("item 1") && Contains("valid lengths"));
  const Seq<4> y = FusionSum{}(Seq<4>(s), Seq<4>(t, b.data()), ws);  // unpadded + padded: the padded lengths
  CHECK(y.lengths == b.data());
  REQUIRE_THROWS_AS((SequenceJoin{}(Seq<4>(s, bad.data()), Seq<4>(t), ws)), RangeError);
  REQUIRE_THROWS_WITH((SequenceJoin{}(Seq<4>(s), Seq<4>(t, bad.data()), ws)),
                      Contains("SequenceJoin") && Contains("branch 1") && Contains("claims 6 valid steps, outside [0, 5]"));
}

TEST_CASE("SequenceJoin zero-pads each item after its own tokens") {
  const std::vector<float> img{1, 1, 2, 2, /* item 1 */ 3, 3, 4, 4};
  const std::vector<float> text{5, 5, 6, 6, 7, 7, /* item 1 */ 8, 8, 9, 9, 10, 10};
  const std::vector<std::int32_t> lengths{1, 3};
  Workspace ws;
  const Seq<2> y = SequenceJoin{}(Seq<2>(img.data(), 2, 2), Seq<2>(text.data(), 2, 3, lengths.data()), ws);
  REQUIRE(y.length == 5);
  REQUIRE(y.lengths != nullptr);
  CHECK(y.lengths[0] == 3);
  CHECK(y.lengths[1] == 5);
  const std::vector<float> expected{1, 1, 2, 2, 5, 5, 0, 0, 0, 0, /* item 1 */ 3, 3, 4, 4, 8, 8, 9, 9, 10, 10};
  for (Index i = 0; i < 20; ++i) CHECK(y.data[i] == expected[static_cast<std::size_t>(i)]);
}

TEST_CASE("SoftmaxHead refuses a bad temperature or k, and its read-outs agree with each other") {
  SoftmaxHead<3, 5> head;
  test::fill_random(head, 4, 1.0f);
  Tensor x(Shape{2, 3});
  for (Index i = 0; i < x.numel(); ++i) x[i] = static_cast<float>(i) - 2.5f;
  Workspace ws;
  for (float bad : {0.0f, -1.0f, std::nanf(""), INFINITY}) {
    REQUIRE_THROWS_AS(head.probabilities(Feat<3>(x), ws, bad), RangeError);
    REQUIRE_THROWS_WITH(head.log_probabilities(Feat<3>(x), ws, bad), Contains("SoftmaxHead<3, 5>") && Contains("temperature"));
  }
  const Feat<5> p = head(Feat<3>(x), ws);
  REQUIRE_THROWS_WITH((SoftmaxHead<3, 5>::top_k(p, 0, ws)), Contains("k in [1, 5]") && Contains("got 0"));
  REQUIRE_THROWS_AS((SoftmaxHead<3, 5>::top_k(p, 6, ws)), RangeError);
  const Feat<5> z = head.logits(Feat<3>(x), ws);
  const Feat<5> lp = head.log_probabilities(Feat<3>(x), ws);
  const Feat<5> hot = head.probabilities(Feat<3>(x), ws, 2.0f);
  for (Index r = 0; r < 2; ++r) {
    double sum = 0, sum_hot = 0;
    for (Index c = 0; c < 5; ++c) {
      CHECK(std::exp(lp.data[r * 5 + c]) == Approx(p.data[r * 5 + c]).epsilon(1e-5));
      sum += p.data[r * 5 + c], sum_hot += hot.data[r * 5 + c];
    }
    CHECK(sum == Approx(1.0));
    CHECK(sum_hot == Approx(1.0));
    // The order of classes is the logits' at any temperature.
    const TopK a = SoftmaxHead<3, 5>::top_k(z, 5, ws), b = SoftmaxHead<3, 5>::top_k(hot, 5, ws);
    for (Index j = 0; j < 5; ++j) CHECK(a.label(r, j) == b.label(r, j));
  }
}

TEST_CASE("kernels::top_k and argmax: largest first, ties by position, NaN last") {
  const std::vector<float> x{0.5f, 2.0f, -1.0f, 2.0f, NAN, 7.0f, -INFINITY, 0.5f};
  float v[8];
  std::int32_t p[8];
  kernels::top_k(x.data(), 8, 8, v, p);
  const std::vector<std::int32_t> order{5, 1, 3, 0, 7, 2, 6, 4};
  for (std::size_t i = 0; i < 8; ++i) CHECK(p[i] == order[i]);
  kernels::top_k(x.data(), 8, 3, v, p);
  CHECK((p[0] == 5 && p[1] == 1 && p[2] == 3));
  CHECK(v[0] == 7.0f);
  CHECK(kernels::argmax(x.data(), 8) == 5);
  const std::vector<float> nan_first{NAN, -3.0f, -3.0f};
  CHECK(kernels::argmax(nan_first.data(), 3) == 1);
  kernels::top_k(nan_first.data(), 3, 1, v, p);
  CHECK(p[0] == 1);
}

TEST_CASE("CrossAttentionFusion: torch's names, its join rules, and queries and memory of one batch") {
  using X = CrossAttentionFusion<8, 6, 2>;
  std::vector<std::string> names;
  X fusion;
  for (const auto& [name, t] : state_dict(fusion)) names.push_back(name + " " + t->shape().str());
  CHECK(names == std::vector<std::string>{"attn.q_proj_weight [8, 8]", "attn.k_proj_weight [8, 6]",
                                          "attn.v_proj_weight [8, 6]", "attn.in_proj_bias [24]",
                                          "attn.out_proj.weight [8, 8]", "attn.out_proj.bias [8]", "norm.weight [8]",
                                          "norm.bias [8]"});
  STATIC_REQUIRE(std::is_same_v<X::output<Branches<Seq<8>, Map<6>>>, Seq<8>>);
  STATIC_REQUIRE(std::is_same_v<X::output<Branches<Feat<8>, Seq<6>>>, Feat<8>>);
  STATIC_REQUIRE(std::is_same_v<X::expects<Branches<Seq<8>, Seq<7>>>, in_branch<1, Seq<6>>>);
  STATIC_REQUIRE(std::is_same_v<X::expects<Branches<Seq<9>, Seq<6>>>, in_branch<0, feat_or_seq<8>>>);
  STATIC_REQUIRE_FALSE(X::accepts<Seq<8>>);
  test::fill_random(fusion, 6, 0.3f);
  Tensor q(Shape{2, 3, 8}), m(Shape{3, 4, 6});
  Workspace ws;
  REQUIRE_THROWS_WITH((fusion(Seq<8>(q), Seq<6>(m), ws)), Contains("CrossAttentionFusion<8, 6, 2>") && Contains("batch 3"));
}
