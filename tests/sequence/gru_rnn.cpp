// GRU and RNN against torch.nn.GRU / nn.RNN (oracle: oracle.py), streamed too; Linear with
// bfloat16 weights; MaxOverTime, MeanPool and LastStep over valid lengths; Embedding's
// range check at its boundaries; the errors bad input gets.
#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <limits>
#include <random>
#include <vector>

#include "mmm/layers/embedding.hpp"
#include "mmm/layers/gru.hpp"
#include "mmm/layers/linear.hpp"
#include "mmm/layers/lstm.hpp"
#include "mmm/layers/pooling.hpp"
#include "mmm/layers/rnn.hpp"
#include "sequence_checks.hpp"

using namespace mmm;
using namespace mmm::test::sequence;
using mmm::test::OracleCase;
using mmm::test::require_close;

namespace {
constexpr Rnn two_bidirectional{.layers = 2, .bidirectional = true};
constexpr Rnn three_layers{.layers = 3};
constexpr Rnn no_bias{.bias = false};
constexpr Rnn bidirectional{.bidirectional = true};
constexpr Rnn two_layers_bf16{.layers = 2, .weights = WeightType::bf16};

template <class M>
M loaded(const char* name) {
  M m;
  OracleCase(name).load_model(m);
  return m;
}
}  // namespace

TEST_CASE("GRU matches torch.nn.GRU", "[gru]") {
  GRU<37, 53, two_bidirectional> bi;
  check_against_torch(bi, "gru_l2_bi", 1e-4);
  GRU<37, 53, no_bias> plain;
  check_against_torch(plain, "gru_l1_nobias", 1e-4);
  GRU<37, 53, three_layers> deep;
  check_against_torch(deep, "gru_l3", 1e-4);
  GRU<37, 53, two_layers_bf16> bf16;
  check_against_torch(bf16, "gru_bf16", 1e-2, Bound::of_largest);
}

TEST_CASE("RNN matches torch.nn.RNN with tanh and relu", "[rnn]") {
  RNN<37, 53, three_layers> deep;
  check_against_torch(deep, "rnn_l3_tanh", 1e-4);
  RNN<37, 53, bidirectional, Nonlinearity::relu> relu;
  check_against_torch(relu, "rnn_relu_bi", 1e-4);
}

TEST_CASE("streamed GRU and RNN give the whole sequence's result bit for bit", "[gru][rnn][streaming]") {
  check_streaming(loaded<GRU<37, 53, three_layers>>("gru_l3"), "gru_l3");
  check_streaming(loaded<GRU<37, 53, no_bias>>("gru_l1_nobias"), "gru_l1_nobias");
  check_streaming(loaded<RNN<37, 53, three_layers>>("rnn_l3_tanh"), "rnn_l3_tanh");
  check_streaming(loaded<GRU<37, 53, two_layers_bf16>>("gru_bf16"), "gru_bf16");
  const ForcedTeam team;
  check_streaming(loaded<GRU<37, 53, three_layers>>("gru_l3"), "gru_l3");
}

TEST_CASE("GRU(1→H) + Linear(H→1) fed one sample at a time matches torch, H = 8, 13, 16, 24", "[gru][realtime]") {
  check_real_time<GRU<1, 8>>("realtime_gru_8");
  check_real_time<GRU<1, 13>>("realtime_gru_13");
  check_real_time<GRU<1, 16>>("realtime_gru_16");
  check_real_time<GRU<1, 24>>("realtime_gru_24");
}

TEST_CASE("Linear with bfloat16 weights: error ≤ 1e-2 of the largest output of torch's float32 Linear", "[linear][bf16]") {
  {
    OracleCase c("linear_bf16");
    Linear<37, 129, true, WeightType::bf16> m;
    c.load_model(m);
    Workspace ws;
    const Tensor y = m(Feat<37>(c.input("x")), ws).to_tensor();
    const double e = check_close(y, c.output("y"), 1e-2, Bound::of_largest, "Linear<37, 129, bf16>");
    std::printf("%-16s %-44s max error / max |torch|   %.2e (bound 1e-02)\n", "linear_bf16", m.name().c_str(), e);
  }
  {
    OracleCase c("linear_bf16_1");
    Linear<300, 70, true, WeightType::bf16> m;
    c.load_model(m);
    Workspace ws;
    const Tensor y = m(Feat<300>(c.input("x")), ws).to_tensor();
    const double e = check_close(y, c.output("y"), 1e-2, Bound::of_largest, "Linear<300, 70, bf16>");
    std::printf("%-16s %-44s max error / max |torch|   %.2e (bound 1e-02)\n", "linear_bf16_1", m.name().c_str(), e);
  }
}

TEST_CASE("MaxOverTime, MeanPool and LastStep pool each item's valid steps", "[pooling]") {
  OracleCase c("pooling");
  const Tensor x = c.input("x");
  const IntTensor lengths = c.int_input("lengths");
  const Seq<37> seq(x.view(), lengths.data());
  Workspace ws;
  require_close(MaxOverTime{}(seq, ws).to_tensor(), c.output("max"), 1e-6, "MaxOverTime");
  require_close(MeanPool{}(seq, ws).to_tensor(), c.output("mean"), 1e-5, "MeanPool");
  require_close(LastStep{}(seq, ws).to_tensor(), c.output("last"), 1e-6, "LastStep");

  // NaN wins, as in torch.max; an item with no valid step is a RangeError.
  Tensor nan_input(Shape{1, 3, 2}, {1.0f, 5.0f, std::numeric_limits<float>::quiet_NaN(), 2.0f, 3.0f, 7.0f});
  const Tensor m = MaxOverTime{}(Seq<2>(nan_input.view()), ws).to_tensor();
  CHECK(std::isnan(m[0]));
  CHECK(m[1] == 7.0f);
  const std::array<std::int32_t, 1> none{0};
  CHECK_THROWS_AS(MaxOverTime{}(Seq<2>(nan_input.view(), none.data()), ws), RangeError);
}

TEST_CASE("Embedding refuses the first id past the vocabulary and -1", "[embedding]") {
  Embedding<11, 4> table;
  Workspace ws;
  for (std::int32_t bad : {11, -1}) {
    const std::array<std::int32_t, 4> ids{0, 10, bad, 3};
    try {
      (void)table(Tokens(ids.data(), 2, 2), ws);
      FAIL("id " << bad << " was accepted");
    } catch (const RangeError& e) {
      const std::string msg = e.what();
      CHECK_THAT(msg, Catch::Contains("Embedding<11, 4>") && Catch::Contains("token id " + std::to_string(bad)) &&
                          Catch::Contains("item 1, position 0") && Catch::Contains("vocabulary of 11"));
    }
  }
  const std::array<std::int32_t, 2> edge{0, 10};
  CHECK_NOTHROW(table(Tokens(edge.data(), 1, 2), ws));
}

TEST_CASE("bad input to a recurrent layer is a typed error naming the layer", "[errors]") {
  GRU<37, 53, two_bidirectional> gru;
  Workspace ws;
  Tensor x(Shape{2, 4, 37}, 0.5f);
  CHECK_THROWS_WITH(gru(Seq<37>(x.view()), ws), Catch::Contains("GRU<37, 53, layers 2, bidirectional>") &&
                                                   Catch::Contains("not prepared"));
  gru.prepare();
  const std::array<std::int32_t, 2> too_long{4, 5}, negative{-1, 2};
  CHECK_THROWS_AS(gru(Seq<37>(x.view(), too_long.data()), ws), RangeError);
  CHECK_THROWS_WITH(gru(Seq<37>(x.view(), negative.data()), ws), Catch::Contains("GRU<37, 53, layers 2, bidirectional>: item 0 of the input Seq<37> claims -1 valid steps"));
  const Tensor h0(Shape{2, 2, 53});  // needs layers·directions = 4 slots
  CHECK_THROWS_WITH(gru.forward_with_states(Seq<37>(x.view()), ws, {h0.view(), {}}),
                    Catch::Contains("h_0 must be") && Catch::Contains("[4, 2, 53]") && Catch::Contains("[2, 2, 53]"));
  LSTM<37, 53> lstm;
  lstm.prepare();
  const Tensor c0(Shape{1, 3, 53});
  CHECK_THROWS_AS(lstm.forward_with_states(Seq<37>(x.view()), ws, {{}, c0.view()}), ShapeError);
  LSTM<37, 53>::State state(3);
  CHECK_THROWS_WITH(lstm.step(Seq<37>(x.view()), state, ws), Catch::Contains("the state has 3 rows, the input 2"));
  // A sequence of no steps gives no output and the initial states back.
  const Tensor empty(Shape{2, 0, 37});
  const Tensor h_init(Shape{4, 2, 53}, 0.25f);
  const auto r = gru.forward_with_states(Seq<37>(empty.view()), ws, {h_init.view(), {}});
  CHECK(r.output.length == 0);
  require_identical(r.h_n, h_init.view(), "h_n of an empty sequence");
}

// The real-time models' output layer (Linear(H→1) on one row) skips the blocked GEMM for
// kernels::gemm_small: its dot products must give what the epilogue promises, at odd depths
// (register tails), with a bias, a residual aliasing C, alpha and an activation.
TEST_CASE("gemm_small: C = act(alpha·A·Wᵀ + bias + residual) at odd sizes", "[linear][gemm_small]") {
  const unsigned seed = std::random_device{}();
  INFO("seed " << seed);
  std::printf("gemm_small seed %u\n", seed);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  const std::array<std::array<Index, 3>, 6> sizes{{{1, 1, 1}, {1, 1, 37}, {3, 5, 16}, {2, 7, 53}, {5, 1, 128}, {1, 3, 17}}};
  for (const auto& [m, n, k] : sizes) {
    std::vector<float> a(static_cast<std::size_t>(m * (k + 2))), w(static_cast<std::size_t>(n * k)),
        bias(static_cast<std::size_t>(n)), c(static_cast<std::size_t>(m * (n + 1)));
    for (auto* v : {&a, &w, &bias, &c})
      for (float& x : *v) x = dist(rng);
    const std::vector<float> residual = c;
    kernels::Epilogue ep;
    ep.alpha = 0.75f;
    ep.bias = bias.data();
    ep.residual = c.data();
    ep.ld_residual = n + 1;
    ep.activation = kernels::Activation::relu;
    kernels::gemm_small(m, a.data(), k + 2, w.data(), n, k, c.data(), n + 1, ep);
    for (Index i = 0; i < m; ++i)
      for (Index j = 0; j < n; ++j) {
        double dot = 0, magnitude = 0;
        for (Index d = 0; d < k; ++d) {
          dot += static_cast<double>(a[static_cast<std::size_t>(i * (k + 2) + d)]) * w[static_cast<std::size_t>(j * k + d)];
          magnitude += std::fabs(static_cast<double>(a[static_cast<std::size_t>(i * (k + 2) + d)]) * w[static_cast<std::size_t>(j * k + d)]);
        }
        const double expected =
            std::max(0.0, 0.75 * dot + bias[static_cast<std::size_t>(j)] + residual[static_cast<std::size_t>(i * (n + 1) + j)]);
        INFO("m " << m << " n " << n << " k " << k << " at (" << i << ", " << j << ")");
        REQUIRE(std::fabs(c[static_cast<std::size_t>(i * (n + 1) + j)] - expected) <= 1e-6 * (magnitude + 2) + 1e-7);
      }
  }
}
