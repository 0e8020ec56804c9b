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

Index meta_int(const OracleCase& c, const std::string& key) { return std::stoll(c.meta(key)); }
float meta_float(const OracleCase& c, const std::string& key) { return std::stof(c.meta(key)); }
}  // namespace

static_assert(generate::StepDecoder<LstmDecoder>);

TEST_CASE("an LSTM decoder greedy-decodes, beam-searches and samples as the Python reference") {
  for (const char* name : {"lstm_greedy", "lstm_beam", "lstm_sample"}) {
    OracleCase c(name);
    LstmDecoder decoder;
    c.load_model(decoder);
    const IntTensor ids = c.int_input("ids"), lengths = c.int_input("lengths");
    const Tokens prompt(ids.view(), lengths.data());
    const Index max_length = meta_int(c, "max_length");
    const auto eos = static_cast<std::int32_t>(meta_int(c, "eos"));
    const std::string kind = c.meta("kind");
    Workspace ws;
    if (kind == "greedy") {
      auto state = decoder.make_state(prompt.batch, 0);
      test::check_hypotheses(generate::greedy(decoder, state, prompt, {.max_length = max_length, .eos = eos}, ws), c, "",
                             name);
    } else if (kind == "beam") {
      const generate::BeamOptions o{.max_length = max_length, .eos = eos, .width = meta_int(c, "width"),
                                    .length_penalty = meta_float(c, "length_penalty"), .n_best = meta_int(c, "n_best")};
      auto state = decoder.make_state(prompt.batch * o.width, 0);
      test::check_hypotheses(generate::beam_search(decoder, state, prompt, o, ws), c, "", name);
    } else {
      const generate::SamplingOptions o{.max_length = max_length, .eos = eos, .temperature = meta_float(c, "temperature"),
                                        .top_k = meta_int(c, "top_k"), .top_p = meta_float(c, "top_p"),
                                        .seed = std::stoull(c.meta("seed"))};
      auto state = decoder.make_state(prompt.batch, 0);
      test::check_hypotheses(generate::sample(decoder, state, prompt, o, ws), c, "", name);
    }
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
    const Index width = meta_int(c, "width");
    Workspace ws;
    const Feat<13> features = encoder(Map<3>(images), ws);
    auto state = decoder.make_state(images.dim(0) * width, 0);
    decoder.condition(state, features, ws);
    const std::vector<std::int32_t> bos(static_cast<std::size_t>(images.dim(0)), 0);
    const Tokens prompt(bos.data(), images.dim(0), 1);
    const Index max_length = meta_int(c, "max_length");
    const auto eos = static_cast<std::int32_t>(meta_int(c, "eos"));
    const Hypotheses h =
        c.meta("kind") == "greedy"
            ? generate::greedy(decoder, state, prompt, {.max_length = max_length, .eos = eos}, ws)
            : generate::beam_search(decoder, state, prompt,
                                    {.max_length = max_length, .eos = eos, .width = width,
                                     .length_penalty = meta_float(c, "length_penalty"), .n_best = meta_int(c, "n_best")},
                                    ws);
    test::check_hypotheses(h, c, "", name);
  }
}
