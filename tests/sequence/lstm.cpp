// LSTM against torch.nn.LSTM (oracle: oracle.py) — 1 to 3 layers, bidirectional, proj_size,
// mixed lengths with a length-1 item, given initial states, bfloat16 weights from float32
// and from bfloat16 files — and its streaming state: chunks and frames give the whole
// sequence's bits, reorder and reset, and no allocation per step. This file also holds the
// executable's allocation counter.
#include <catch2/catch.hpp>

#include <array>
#include <optional>

#include "mmm/layers/linear.hpp"
#include "mmm/layers/lstm.hpp"
#include "sequence_checks.hpp"
#include "support/allocation_counter.hpp"

using namespace mmm;
using namespace mmm::test::sequence;
using mmm::test::OracleCase;

namespace {
constexpr Rnn two_layers{.layers = 2};
constexpr Rnn two_bidirectional{.layers = 2, .bidirectional = true};
constexpr Rnn three_projected{.layers = 3, .proj_size = 17};
constexpr Rnn bidirectional_projected{.bidirectional = true, .proj_size = 17};
constexpr Rnn two_bidirectional_bf16{.layers = 2, .bidirectional = true, .weights = WeightType::bf16};
constexpr Rnn projected_bf16{.proj_size = 17, .weights = WeightType::bf16};
}  // namespace

// The products these tests run: AVX-512 with BF16 dot products natively here, 8-float
// registers and bfloat16 widened to float32 in the AVX2 build of the same sources.
#ifdef MMM_TEST_SEQUENCE_AVX2
static_assert(kernels::GroupedWeights::lanes == 8 && !MMM_HAS_BF16_DOT, "the AVX2 build must not use AVX-512");
#endif

TEST_CASE("LSTM matches torch.nn.LSTM in float32", "[lstm]") {
  std::printf("registers of %d floats, bfloat16 weights by %s\n", static_cast<int>(kernels::GroupedWeights::lanes),
              MMM_HAS_BF16_DOT ? "AVX-512 BF16 dot products" : "widening to float32");
  LSTM<37, 53> l1;
  check_against_torch(l1, "lstm_l1", 1e-4);
  LSTM<37, 53, two_layers> l2;
  check_against_torch(l2, "lstm_l2", 1e-4);
  LSTM<37, 53, two_bidirectional> l2_bi;
  check_against_torch(l2_bi, "lstm_l2_bi", 1e-4);
  LSTM<37, 53, three_projected> l3_proj;
  check_against_torch(l3_proj, "lstm_l3_proj", 1e-4);
  LSTM<37, 53, bidirectional_projected> bi_proj;
  check_against_torch(bi_proj, "lstm_bi_proj", 1e-4);
}

TEST_CASE("LSTM with bfloat16 weights: error ≤ 1e-2 of the largest output of torch's float32 LSTM", "[lstm][bf16]") {
  LSTM<37, 53, two_bidirectional_bf16> m;
  SECTION("weights loaded from a float32 file") { check_against_torch(m, "lstm_bf16", 1e-2, Bound::of_largest); }
  SECTION("weights loaded from a bfloat16 file (torch ran the rounded weights)") {
    check_against_torch(m, "lstm_bf16_file", 1e-2, Bound::of_largest);
  }
  SECTION("with a projection, and streamed") {
    LSTM<37, 53, projected_bf16> proj;
    check_against_torch(proj, "lstm_proj_bf16", 1e-2, Bound::of_largest);
    check_streaming(proj, "lstm_proj_bf16");
  }
}

TEST_CASE("a streamed LSTM gives the whole sequence's result bit for bit", "[lstm][streaming]") {
  SECTION("two layers (one-frame steps without a GEMM)") {
    LSTM<37, 53, two_layers> m;
    OracleCase("lstm_l2").load_model(m);
    check_streaming(m, "lstm_l2");
    const ForcedTeam team;
    check_streaming(m, "lstm_l2");
  }
  SECTION("three layers with a projection (one-frame steps through the sequence path)") {
    LSTM<37, 53, three_projected> m;
    OracleCase("lstm_l3_proj").load_model(m);
    check_streaming(m, "lstm_l3_proj");
  }
}

TEST_CASE("LSTM(1→H) + Linear(H→1) fed one sample at a time matches torch, H = 8, 13, 24, 32", "[lstm][realtime]") {
  check_real_time<LSTM<1, 8>>("realtime_lstm_8");
  check_real_time<LSTM<1, 13>>("realtime_lstm_13");
  check_real_time<LSTM<1, 24>>("realtime_lstm_24");
  check_real_time<LSTM<1, 32>>("realtime_lstm_32");
}

TEST_CASE("State: reorder gathers rows, reset and set restart a stream", "[lstm][state]") {
  LSTM<37, 53, two_layers> m;
  OracleCase c("lstm_l2");
  c.load_model(m);
  const CaseInputs in(c);
  LSTM<37, 53, two_layers>::State state(5);
  state.set(in.h0.view(), in.c0.view());
  Workspace ws;
  (void)m.step(Feat<37>(in.x.data(), 5), state, ws);
  const Tensor h = Tensor::copy_of(state.h_n()), cell = Tensor::copy_of(state.c_n());
  const std::array<Index, 5> sources{4, 4, 0, 1, 2};
  state.reorder(sources);
  for (Index slot = 0; slot < 2; ++slot)
    for (Index i = 0; i < 5; ++i) {
      require_identical({state.h(slot).data() + i * 53, Shape{53}}, {h.data() + (slot * 5 + sources[i]) * 53, Shape{53}},
                        "h after reorder");
      require_identical({state.c(slot).data() + i * 53, Shape{53}}, {cell.data() + (slot * 5 + sources[i]) * 53, Shape{53}},
                        "c after reorder");
    }
  CHECK_THROWS_AS(state.reorder(std::array<Index, 4>{0, 1, 2, 3}), ShapeError);
  CHECK_THROWS_AS(state.reorder(std::array<Index, 5>{0, 1, 2, 3, 5}), RangeError);
  CHECK_THROWS_AS(state.h(2), RangeError);
  CHECK_THROWS_AS(state.set(Tensor(Shape{2, 4, 53}).view()), ShapeError);
  state.reset();
  for (float v : state.h_n().span()) REQUIRE(v == 0.0f);
  for (float v : state.c_n().span()) REQUIRE(v == 0.0f);
  CHECK_THROWS_AS(m.step(Feat<37>(in.x.data(), 4), state, ws), ShapeError);
}

TEST_CASE("no allocation per streamed step, reorder, reset or repeated forward", "[lstm][allocations]") {
  LSTM<37, 53, two_layers> frames;                // one-frame steps without a GEMM
  LSTM<37, 53, three_projected> projected;        // one-frame steps through the sequence path
  LSTM<37, 53, two_bidirectional_bf16> bf16;      // forward only (bidirectional)
  OracleCase("lstm_l2").load_model(frames);
  OracleCase("lstm_l3_proj").load_model(projected);
  OracleCase("lstm_bf16").load_model(bf16);
  const CaseInputs in(OracleCase("lstm_l2"));
  const std::array<std::int32_t, 5> lengths{3, 1, 3, 2, 3};
  const Tensor chunk = chunk_of(in.x, 0, 3);
  decltype(frames)::State state(5);
  decltype(projected)::State state_p(5);
  const std::array<Index, 5> sources{1, 0, 3, 3, 4};
  for (int threads : {1, 2}) {
    DYNAMIC_SECTION(threads << " thread(s)") {
      std::optional<ForcedTeam> team;
      if (threads == 2) team.emplace();
      Workspace ws;
      auto steps = [&] {
        for (int i = 0; i < 4; ++i) (void)frames.step(Feat<37>(in.x.data(), 5), state, ws);
        for (int i = 0; i < 2; ++i) (void)projected.step(Feat<37>(in.x.data(), 5), state_p, ws);
        ws.reset();
        (void)frames.step(Seq<37>(chunk.view(), lengths.data()), state, ws);
        state.reorder(sources);
        state_p.reorder(sources);
        state.reset();
        ws.reset();
        (void)frames(Seq<37>(in.x.view(), in.lengths.data()), ws);
        (void)bf16.forward_with_states(Seq<37>(in.x.view(), in.lengths.data()), ws, {});
      };
      steps();  // sizes the workspace and the threads' buffers
      steps();
      CHECK(test::allocations_during(steps, 3) == 0);
    }
  }
}
