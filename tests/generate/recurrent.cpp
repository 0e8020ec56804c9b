// RecurrentDecoder (Embedding → LSTM → Linear on the decoder-step interface) and an LSTM
// captioner (a CNN's features as the LSTM's first input) decode as the Python reference
// procedures do over the same torch modules (tools/mmm_decoders.py; oracle: parity_oracle.py):
// greedy, beam search and seeded sampling, the same decoding code as every other decoder.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "generate/hypotheses_check.hpp"
#include "mmm/pipeline.hpp"
#include "support/oracle.hpp"

using namespace mmm;
using generate::Hypotheses;
using test::OracleCase;

namespace {
using LstmDecoder = generate::RecurrentDecoder<41, 13, LSTM<13, 29, Rnn{.layers = 2}>>;
using CaptionDecoder = generate::RecurrentDecoder<37, 13, LSTM<13, 31>>;
using ImageEncoder = Sequential<Conv2D<3, 8, Conv{.kernel = 3, .stride = 2, .pad = 1}>, ReLU, GlobalAvgPool, Linear<8, 13>>;
}  // namespace

static_assert(generate::StepDecoder<LstmDecoder>);

TEST_CASE("an LSTM decoder greedy-decodes, beam-searches and samples as the Python reference") {
  for (const char* name : {"lstm_greedy", "lstm_beam", "lstm_sample"}) {
    OracleCase c(name);
    LstmDecoder decoder;
    c.load_model(decoder);
    const IntTensor ids = c.int_input("ids"), lengths = c.int_input("lengths");
    const Tokens prompt(ids.view(), lengths.data());
    Workspace ws;
    const Hypotheses h = test::decode_case(decoder, c, prompt, [&](Index rows) { return decoder.make_state(rows, 0); }, ws);
    test::check_hypotheses(h, c, "", name);
  }
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
