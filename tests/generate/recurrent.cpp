// RecurrentDecoder (Embedding → LSTM → Linear on the decoder-step interface) and an LSTM
// captioner (a CNN's features as the LSTM's first input) decode as the Python reference
// procedures do over the same torch modules (tools/mmm_decoders.py; oracle: parity_oracle.py):
// greedy, beam search and seeded sampling, the same decoding code as every other decoder.
#include <catch2/catch.hpp>

#include <cstring>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "generate/hypotheses_check.hpp"
#include "mmm/pipeline.hpp"
#include "support/forced_team.hpp"
#include "support/oracle.hpp"
#include "support/random_model.hpp"

using namespace mmm;
using generate::Hypotheses;
using test::ForcedTeam;
using test::OracleCase;

namespace {
using LstmDecoder = generate::RecurrentDecoder<41, 13, LSTM<13, 29, Rnn{.layers = 2}>>;
using CaptionDecoder = generate::RecurrentDecoder<37, 13, LSTM<13, 31>>;
using ImageEncoder = Sequential<Conv2D<3, 8, Conv{.kernel = 3, .stride = 2, .pad = 1}>, ReLU, GlobalAvgPool, Linear<8, 13>>;
}  // namespace

static_assert(generate::StepDecoder<LstmDecoder>);

TEST_CASE("an LSTM decoder greedy-decodes, beam-searches and samples as the Python reference") {
  for (const bool team : {false, true})
    for (const char* name : {"lstm_greedy", "lstm_beam", "lstm_sample", "lstm_greedy_row", "lstm_sample_row"}) {
      std::optional<ForcedTeam> forced;
      if (team) forced.emplace();
      OracleCase c(name);
      LstmDecoder decoder;
      c.load_model(decoder);
      const IntTensor ids = c.int_input("ids"), lengths = c.int_input("lengths");
      const Tokens prompt(ids.view(), lengths.data());
      Workspace ws;
      const Hypotheses h = test::decode_case(decoder, c, prompt, [&](Index rows) { return decoder.make_state(rows, 0); }, ws);
      test::check_hypotheses(h, c, "", std::string(name) + (team ? " (two threads)" : ""));
    }
}

// A single row's token runs every layer and the head in one parallel region (the threads
// splitting the units and the head's columns); a row of a batch goes through the batch path.
// The states must be the same bits either way, on one thread and two, for every cell, and a
// token's logits the same bits on one thread and two (the head's split); sizes odd, the head
// big enough to be split (vocabulary × hidden > kernels::small_product_macs). (The logits of
// a row alone and of a row in a batch may differ in the last bit: a one-row product and a
// GEMM tile of several rows sum in different orders.)
template <class Decoder>
void check_row_alone_as_in_batch(const char* what) {
  const unsigned seed = std::random_device{}();
  INFO(what << ", seed " << seed);
  Decoder decoder;
  test::fill_random(decoder, seed, 0.3f);
  const std::vector<std::int32_t> ids{5, 17, 2, 5, 17, 2};
  const Tokens alone(ids.data(), 1, 3), batch(ids.data(), 2, 3);
  std::vector<float> logits[2];
  std::vector<std::int32_t> tokens[2];
  for (const bool team : {false, true}) {
    std::optional<ForcedTeam> forced;
    if (team) forced.emplace();
    INFO((team ? "two threads" : "one thread"));
    Workspace ws;
    auto one = decoder.make_state(1, 0);
    auto two = decoder.make_state(2, 0);
    const Hypotheses a = generate::greedy(decoder, one, alone, {.max_length = 24}, ws);
    const Hypotheses b = generate::greedy(decoder, two, batch, {.max_length = 24}, ws);
    const auto ta = a.tokens(0), tb = b.tokens(0);
    tokens[team].assign(ta.begin(), ta.end());
    CHECK(tokens[team] == std::vector<std::int32_t>(tb.begin(), tb.end()));
    for (Index l = 0; l < Decoder::State::layers; ++l)
      for (Index u = 0; u < Decoder::State::state_size; ++u) {
        INFO("layer " << l << ", unit " << u);
        REQUIRE(one.h(l).data()[u] == two.h(l).data()[u]);
      }
    const std::int32_t next = 11;
    const Feat<Decoder::vocab_size> z = decoder.step(Tokens(&next, 1, 1), one, ws);
    logits[team].assign(z.data, z.data + Decoder::vocab_size);
  }
  CHECK(tokens[0] == tokens[1]);
  CHECK(std::memcmp(logits[0].data(), logits[1].data(), sizeof(float) * logits[0].size()) == 0);
}

TEST_CASE("a single row's token in one parallel region gives the same bits as a row of a batch") {
  check_row_alone_as_in_batch<generate::RecurrentDecoder<301, 19, LSTM<19, 37, Rnn{.layers = 2}>>>("LSTM");
  check_row_alone_as_in_batch<generate::RecurrentDecoder<263, 21, GRU<21, 45, Rnn{.layers = 3}>>>("GRU");
  check_row_alone_as_in_batch<generate::RecurrentDecoder<257, 17, RNN<17, 70>>>("RNN");
}

TEST_CASE("an LSTM captioner: CNN features condition the state, then greedy and beam search from BOS") {
  for (const char* name : {"caption_greedy", "caption_beam"}) {
    OracleCase c(name);
    ImageEncoder encoder;
    CaptionDecoder decoder;
    load(encoder, c.file(), "model.encoder");
    load(decoder, c.file(), "model.decoder");
    const Tensor images = c.input("image");
    Workspace ws;
    const Feat<13> features = encoder(Map<3>(images), ws);
    const std::vector<std::int32_t> bos(static_cast<std::size_t>(images.dim(0)), 0);
    const Tokens prompt(bos.data(), images.dim(0), 1);
    const Hypotheses h = test::decode_case(decoder, c, prompt,
                                           [&](Index rows) {
                                             auto state = decoder.make_state(rows, 0);
                                             decoder.condition(state, features, ws);
                                             return state;
                                           },
                                           ws);
    test::check_hypotheses(h, c, "", name);
  }
}
