// Parity with PyTorch for Embedding, the pooling modules, Flatten, FusionConcat,
// SoftmaxHead and a Parallel image + text model (oracle: parity_oracle.py).
#include <catch2/catch.hpp>

#include "mmm/pipeline.hpp"
#include "support/oracle.hpp"

using namespace mmm;
using test::OracleCase;
using test::require_close;

namespace {
Tokens tokens_of(const IntTensor& ids, const IntTensor* lengths) {
  return Tokens(ids.view(), lengths ? lengths->data() : nullptr);
}
}  // namespace

TEST_CASE("Embedding<37, 19> matches nn.Embedding and carries the lengths") {
  OracleCase c("embedding");
  Embedding<37, 19> emb;
  c.load_model(emb);
  const IntTensor ids = c.int_input("ids"), lengths = c.int_input("lengths");
  Workspace ws;
  const Seq<19> y = emb(tokens_of(ids, &lengths), ws);
  CHECK(y.lengths == lengths.data());
  require_close(y.to_tensor(), c.output("y"), 0, "Embedding");  // a lookup: exact
}

TEST_CASE("MeanPool and LastStep match masked torch reductions") {
  OracleCase c("pool_seq");
  const Tensor x = c.input("x");
  const IntTensor lengths = c.int_input("lengths");
  Workspace ws;
  require_close(MeanPool{}(Seq<23>(x, lengths.data()), ws).to_tensor(), c.output("mean"), 1e-4, "MeanPool, lengths");
  require_close(MeanPool{}(Seq<23>(x), ws).to_tensor(), c.output("mean_full"), 1e-4, "MeanPool, full");
  require_close(LastStep{}(Seq<23>(x, lengths.data()), ws).to_tensor(), c.output("last"), 0, "LastStep, lengths");
  require_close(LastStep{}(Seq<23>(x), ws).to_tensor(), c.output("last_full"), 0, "LastStep, full");
}

TEST_CASE("GlobalAvgPool matches nn.AdaptiveAvgPool2d(1) + flatten") {
  OracleCase c("global_avg_pool");
  Workspace ws;
  require_close(GlobalAvgPool{}(Map<13>(c.input("x")), ws).to_tensor(), c.output("y"), 1e-4, "GlobalAvgPool");
}

TEST_CASE("Flatten<5, 7, 3> matches nn.Flatten") {
  OracleCase c("flatten");
  Workspace ws;
  require_close(Flatten<5, 7, 3>{}(Map<5>(c.input("x")), ws).to_tensor(), c.output("y"), 0, "Flatten");
}

TEST_CASE("FusionConcat matches torch.cat, broadcasting Feat over a Seq's steps") {
  Workspace ws;
  {
    OracleCase c("concat_feat");
    const Tensor a = c.input("a"), b = c.input("b"), d = c.input("c");
    const Feat<18> y = FusionConcat{}(Feat<11>(a), Feat<6>(b), Feat<1>(d), ws);
    require_close(y.to_tensor(), c.output("y"), 0, "Feat + Feat + Feat");
  }
  {
    OracleCase c("concat_seq_feat");
    const Tensor s = c.input("s"), f = c.input("f");
    const Seq<14> y = FusionConcat{}(Seq<9>(s), Feat<5>(f), ws);
    require_close(y.to_tensor(), c.output("y"), 0, "Seq + Feat");
    const Seq<14> z = FusionConcat{}(Feat<5>(f), Seq<9>(s), ws);
    require_close(z.to_tensor(), c.output("y_feat_first"), 0, "Feat + Seq");
  }
}

TEST_CASE("SoftmaxHead<29, 13> matches nn.Linear + softmax and loads a Linear's state_dict") {
  OracleCase c("softmax_head");
  SoftmaxHead<29, 13> head;
  c.load_model(head);
  const Tensor x = c.input("x"), xs = c.input("xs");
  Workspace ws;
  require_close(head(Feat<29>(x), ws).to_tensor(), c.output("y"), 1e-4, "SoftmaxHead on Feat");
  require_close(head(Seq<29>(xs), ws).to_tensor(), c.output("ys"), 1e-4, "SoftmaxHead on Seq");
}

TEST_CASE("an image + text model with Parallel and FusionConcat matches torch") {
  OracleCase c("model");
  using ImageEncoder = Sequential<Flatten<3, 5, 7>, Linear<105, 17>, ReLU>;
  using TextEncoder = Sequential<Embedding<41, 15>, MeanPool, Linear<15, 9>, Tanh>;
  Sequential<Parallel<ImageEncoder, TextEncoder>, FusionConcat, Linear<26, 21>, ReLU, SoftmaxHead<21, 7>> model;
  c.load_model(model);
  const Tensor image = c.input("image");
  const IntTensor ids = c.int_input("ids"), lengths = c.int_input("lengths");
  const Tokens tokens = tokens_of(ids, &lengths);
  Workspace ws;
  const Feat<7> y = model(Map<3>(image), tokens, ws);
  require_close(y.to_tensor(), c.output("y"), 1e-4, "model(image, tokens, ws)");
  require_close(model(Map<3>(image), tokens), c.output("y"), 1e-4, "model(image, tokens)");
  require_close(model(Branches<Map<3>, Tokens>(Map<3>(image), tokens), ws).to_tensor(), c.output("y"), 1e-4,
                "model(Branches{image, tokens}, ws)");
}

namespace {
template <class C>
void check_conv(const char* name) {
  OracleCase c(name);
  Sequential<C> conv;
  Sequential<C, ReLU> conv_relu;
  c.load_model(conv.template get<0>());
  c.load_model(conv_relu.template get<0>());
  const Tensor x = c.input("x");
  Workspace ws;
  // 3e-4, not 1e-4: an output is a dot product of up to In·K·K = 96 terms summed in another
  // order than torch's, and the few outputs that cancel to near the comparison's floor
  // (1e-3 of the largest output) were seen at 1.2e-4 relative; abs error stays ~4e-7.
  constexpr double bound = 3e-4;
  require_close(conv(Map<C::in_channels>(x), ws).to_tensor(), c.output("y"), bound, name);
  require_close(conv_relu(Map<C::in_channels>(x), ws).to_tensor(), c.output("relu"), bound, std::string(name) + " + ReLU");
}
}  // namespace

TEST_CASE("Conv2D matches nn.Conv2d (im2col through the GEMM), with and without a fused ReLU") {
  check_conv<Conv2D<3, 5, Conv{.kernel = 3, .stride = 2, .pad = 1}>>("conv_3_5_k3s2p1");
  check_conv<Conv2D<4, 7>>("conv_4_7_k1");
  check_conv<Conv2D<2, 3, Conv{.kernel = 5, .stride = 1, .pad = 2, .dilation = 2}>>("conv_2_3_k5s1p2d2");
  check_conv<Conv2D<6, 9, Conv{.kernel = 4, .stride = 3}>>("conv_6_9_k4s3p0");
}
