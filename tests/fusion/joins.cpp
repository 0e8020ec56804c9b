// Parity with PyTorch for Fork, FusionSum, FusionProduct, FusionConcat over a Map, MapToSeq,
// GatedFusion, SequenceJoin (a LLaVA-style image + text join) and the SoftmaxHead read-outs
// (oracle: parity_oracle.py, reference modules: tools/mmm_fusion.py).
#include <catch2/catch.hpp>

#include "mmm/pipeline.hpp"
#include "support/oracle.hpp"

using namespace mmm;
using test::OracleCase;
using test::require_close;

namespace {
void require_lengths(const std::int32_t* actual, const IntTensor& expected, const std::string& what) {
  INFO(what);
  REQUIRE(actual != nullptr);
  for (Index b = 0; b < expected.numel(); ++b) CHECK(actual[b] == expected[b]);
}
}  // namespace

TEST_CASE("Fork feeds one input to every branch, as tools/mmm_fusion.py's Fork") {
  Workspace ws;
  {
    OracleCase c("fork_sum");
    Sequential<Fork<Sequential<Linear<13, 11>, ReLU>, Linear<13, 11>>, FusionSum, Linear<11, 5>> model;
    c.load_model(model);
    require_close(model(Feat<13>(c.input("x")), ws).to_tensor(), c.output("y"), 1e-4, "Fork + FusionSum on Feat");
    require_close(model(Seq<13>(c.input("xs")), ws).to_tensor(), c.output("ys"), 1e-4, "Fork + FusionSum on Seq");
  }
  {
    OracleCase c("fork_product");
    Sequential<Fork<Linear<9, 6>, Sequential<Linear<9, 6>, Tanh>, Linear<9, 6>>, FusionProduct> model;
    c.load_model(model);
    require_close(model(Feat<9>(c.input("x")), ws).to_tensor(), c.output("y"), 1e-4, "Fork of three + FusionProduct");
  }
}

TEST_CASE("FusionSum and FusionProduct match + and * in torch, a Feat repeated over the steps") {
  OracleCase c("sum_product");
  const Tensor a = c.input("a"), b = c.input("b"), d = c.input("c");
  const IntTensor lengths = c.int_input("lengths");
  Workspace ws;
  const Seq<9> sum = FusionSum{}(Seq<9>(a, lengths.data()), Feat<9>(b), Seq<9>(d), ws);
  CHECK(sum.lengths == lengths.data());
  require_close(sum.to_tensor(), c.output("sum"), 1e-6, "Seq + Feat + Seq");
  require_close(FusionProduct{}(Seq<9>(a, lengths.data()), Feat<9>(b), Seq<9>(d), ws).to_tensor(), c.output("product"),
                1e-6, "Seq * Feat * Seq");
  // Two Feat branches: a + 2a and a * (a + 1), built here from b.
  Tensor twice = b, plus_one = b;
  for (Index i = 0; i < b.numel(); ++i) twice[i] = b[i] * 2, plus_one[i] = b[i] + 1;
  require_close(FusionSum{}(Feat<9>(b), Feat<9>(twice), ws).to_tensor(), c.output("sum_feat"), 1e-6, "Feat + Feat");
  require_close(FusionProduct{}(Feat<9>(b), Feat<9>(plus_one), ws).to_tensor(), c.output("product_feat"), 1e-6,
                "Feat * Feat");
}

TEST_CASE("FusionConcat over a Map's positions and MapToSeq match flatten(2).transpose(1, 2)") {
  OracleCase c("concat_map");
  const Tensor m = c.input("m"), f = c.input("f");
  Workspace ws;
  const Seq<8> y = FusionConcat{}(Map<5>(m), Feat<3>(f), ws);
  CHECK(y.length == m.dim(2) * m.dim(3));
  CHECK(y.lengths == nullptr);
  require_close(y.to_tensor(), c.output("y"), 0, "Map + Feat");
  require_close(FusionConcat{}(Feat<3>(f), Map<5>(m), ws).to_tensor(), c.output("y_feat_first"), 0, "Feat + Map");
  require_close(MapToSeq{}(Map<5>(m), ws).to_tensor(), c.output("tokens"), 0, "MapToSeq");
}

TEST_CASE("GatedFusion matches the gated multimodal unit of tools/mmm_fusion.py") {
  Workspace ws;
  {
    OracleCase c("gated_two");
    GatedFusion<11, 7, 13> gated;
    c.load_model(gated);
    test::require_close_to_float64(gated(Feat<7>(c.input("a")), Feat<13>(c.input("b")), ws).to_tensor(), c, "y", 1e-4,
                                   "GatedFusion<11, 7, 13>");
  }
  {
    OracleCase c("gated_three");
    GatedFusion<6, 5, 9, 4> gated;
    c.load_model(gated);
    const IntTensor lengths = c.int_input("lengths");
    const Tensor a = c.input("a"), b = c.input("b"), d = c.input("c");
    const Seq<6> y = gated(Seq<5>(a, lengths.data()), Feat<9>(b), Seq<4>(d), ws);
    CHECK(y.lengths == lengths.data());
    test::require_close_to_float64(y.to_tensor(), c, "y", 1e-4, "GatedFusion<6, 5, 9, 4> on Seq, Feat, Seq");
  }
}

TEST_CASE("SequenceJoin packs each item's valid image/audio and text tokens, with lengths and masks") {
  OracleCase c("sequence_join");
  const Tensor img = c.input("img"), text = c.input("text"), prefix = c.input("prefix"), audio = c.input("audio");
  const IntTensor text_lengths = c.int_input("text_lengths"), audio_lengths = c.int_input("audio_lengths");
  Workspace ws;
  const Seq<12> y = SequenceJoin{}(Seq<12>(img), Seq<12>(text, text_lengths.data()), ws);
  CHECK(y.length == img.dim(1) + text.dim(1));
  require_close(y.to_tensor(), c.output("y"), 0, "image tokens + text");
  require_lengths(y.lengths, c.int_output("lengths"), "image tokens + text: lengths");
  // The key-padding mask a decoder builds from the lengths is torch's.
  const IntTensor mask = c.int_output("mask");
  for (Index b = 0; b < y.batch; ++b)
    for (Index t = 0; t < y.length; ++t) CHECK((t >= y.valid_length(b)) == (mask[b * y.length + t] != 0));

  const Seq<12> y2 = SequenceJoin{}(Feat<12>(prefix), Seq<12>(text, text_lengths.data()), ws);
  require_close(y2.to_tensor(), c.output("y_prefix"), 0, "a Feat prefix token + text");
  require_lengths(y2.lengths, c.int_output("lengths_prefix"), "prefix + text: lengths");

  const Seq<12> y3 =
      SequenceJoin{}(Seq<12>(audio, audio_lengths.data()), Seq<12>(text, text_lengths.data()), Feat<12>(prefix), ws);
  require_close(y3.to_tensor(), c.output("y_audio"), 0, "audio frames + text + a token");
  require_lengths(y3.lengths, c.int_output("lengths_audio"), "audio + text + token: lengths");

  // Without padding anywhere, every item is full and no lengths are made.
  const Seq<12> full = SequenceJoin{}(Seq<12>(img), Feat<12>(prefix), ws);
  CHECK(full.lengths == nullptr);
  CHECK(full.length == img.dim(1) + 1);
}

TEST_CASE("a LLaVA-style model: CNN image tokens projected in front of text, pooled over each item's own tokens") {
  OracleCase c("llava_join");
  using Projector = Sequential<Conv2D<3, 8, Conv{.kernel = 3, .stride = 2, .pad = 1}>, ReLU, MapToSeq, Linear<8, 16>>;
  Sequential<Parallel<Projector, Embedding<29, 16>>, SequenceJoin, MeanPool, SoftmaxHead<16, 5>> model;
  c.load_model(model);
  const Tensor image = c.input("image");
  const IntTensor ids = c.int_input("ids"), lengths = c.int_input("lengths");
  Workspace ws;
  const Feat<5> y = model(Map<3>(image), Tokens(ids.view(), lengths.data()), ws);
  require_close(y.to_tensor(), c.output("y"), 1e-4, "LLaVA-style join");

  const auto joined = model.get<1>().forward(model.get<0>().forward(Branches<Map<3>, Tokens>(Map<3>(image),
                                                                                            Tokens(ids.view(), lengths.data())), ws), ws);
  require_lengths(joined.lengths, c.int_output("lengths"), "joined lengths");
}

TEST_CASE("SoftmaxHead gives logits, probabilities at a temperature, log-probabilities and top-k with classes") {
  OracleCase c("head_readouts");
  SoftmaxHead<37, 23> head;
  c.load_model(head);
  const Tensor x = c.input("x"), xs = c.input("xs");
  Workspace ws;
  require_close(head.logits(Feat<37>(x), ws).to_tensor(), c.output("logits"), 1e-4, "logits");
  require_close(head.probabilities(Feat<37>(x), ws, 0.37f).to_tensor(), c.output("probs_t"), 1e-4, "probabilities, T");
  require_close(head.log_probabilities(Feat<37>(x), ws).to_tensor(), c.output("log_probs"), 1e-4, "log-probabilities");
  const Seq<23> lp = head.log_probabilities(Seq<37>(xs), ws, 0.37f);
  require_close(lp.to_tensor(), c.output("log_probs_t"), 1e-4, "log-probabilities on Seq, T");

  // Top-5 of every step of the Seq (the vocabulary of each step), on untempered log-probs.
  const Seq<23> plain = head.log_probabilities(Seq<37>(xs), ws);
  const TopK top = SoftmaxHead<37, 23>::top_k(plain, 5, ws);
  REQUIRE(top.rows == plain.rows());
  const Tensor values = c.output("top_values");
  const IntTensor classes = c.int_output("top_classes");
  require_close(TensorView<const float>(top.values, values.shape()), values, 1e-4, "top-k values on Seq");
  for (Index i = 0; i < classes.numel(); ++i) CHECK(top.classes[i] == classes[i]);

  const Feat<23> probs = head(Feat<37>(x), ws);
  const TopK best = SoftmaxHead<37, 23>::top_k(probs, 3, ws);
  const IntTensor best_classes = c.int_output("top_probs_classes");
  require_close(TensorView<const float>(best.values, Shape{x.dim(0), 3}), c.output("top_probs"), 1e-4,
                "top-k probabilities on Feat");
  for (Index i = 0; i < best_classes.numel(); ++i) CHECK(best.classes[i] == best_classes[i]);
  // The older one-row read-outs agree with the new ones.
  for (Index r = 0; r < x.dim(0); ++r) {
    CHECK(SoftmaxHead<37, 23>::argmax(probs, r).label == best.label(r, 0));
    const auto row = SoftmaxHead<37, 23>::top_k(probs, 3, r);
    for (Index j = 0; j < 3; ++j) CHECK(row[static_cast<std::size_t>(j)].label == best.label(r, j));
  }
}

TEST_CASE("CrossAttentionFusion matches norm(x + MultiheadAttention(x, m, m)) over frames, a map, a Feat query") {
  Workspace ws;
  {
    OracleCase c("cross_attention_fusion");
    CrossAttentionFusion<24, 20, 4> fusion;
    c.load_model(fusion);
    const Tensor q = c.input("q"), m = c.input("m"), image = c.input("image"), pooled = c.input("pooled");
    const IntTensor q_lengths = c.int_input("q_lengths"), m_lengths = c.int_input("m_lengths");
    const Seq<24> y = fusion(Seq<24>(q, q_lengths.data()), Seq<20>(m, m_lengths.data()), ws);
    CHECK(y.lengths == q_lengths.data());
    // Past an item's valid queries torch computes values too (attention of padding queries):
    // compare everything, as torch keeps them.
    require_close(y.to_tensor(), c.output("y"), 1e-4, "text queries over padded frames");
    require_close(fusion(Seq<24>(q, q_lengths.data()), Map<20>(image), ws).to_tensor(), c.output("y_map"), 1e-4,
                  "text queries over an image's positions");
    const Feat<24> pooled_y = fusion(Feat<24>(pooled), Seq<20>(m, m_lengths.data()), ws);
    require_close(pooled_y.to_tensor(), c.output("y_feat"), 1e-4, "one query per item");
  }
  {
    OracleCase c("cross_attention_fusion_same");
    CrossAttentionFusion<16, 16, 2> fusion;
    c.load_model(fusion);
    require_close(fusion(Seq<16>(c.input("q")), Seq<16>(c.input("m")), ws).to_tensor(), c.output("y"), 1e-4,
                  "Dkv = Dq (in_proj_weight)");
  }
}

TEST_CASE("a composed multimodal model — CNN image branch, LSTM text branch, cross-attention fusion, head — matches torch") {
  OracleCase c("multimodal_model");
  using Text = Sequential<Embedding<50, 20>, LSTM<20, 32>>;
  using Image = Sequential<Conv2D<3, 16, Conv{.kernel = 3, .stride = 2, .pad = 1}>, ReLU,
                           Conv2D<16, 24, Conv{.kernel = 3, .stride = 2, .pad = 1}>, ReLU>;
  Sequential<Parallel<Text, Image>, CrossAttentionFusion<32, 24, 4>, MeanPool, SoftmaxHead<32, 7>> model;
  c.load_model(model);
  const IntTensor ids = c.int_input("ids"), lengths = c.int_input("lengths");
  const Tensor image = c.input("image");
  Workspace ws;
  const Feat<7> y = model(Tokens(ids.view(), lengths.data()), Map<3>(image), ws);
  require_close(y.to_tensor(), c.output("y"), 1e-4, "multimodal model");
}
