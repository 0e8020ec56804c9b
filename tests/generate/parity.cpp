// Decoding against the Python reference procedures of tools/mmm_generate.py over the same
// torch model (oracle: parity_oracle.py): greedy (batch, repetition penalty, stop strings) and
// beam search give the same tokens, finishes and scores (≤ 1e-4); sampling reproduces text
// recorded from the Python generator token for token; CTC greedy and prefix beam search match.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "generate/decoders.hpp"
#include "generate/hypotheses_check.hpp"
#include "mmm/pipeline.hpp"
#include "support/oracle.hpp"

using namespace mmm;
using generate::Hypotheses;
using test::meta_float;
using test::meta_int;
using test::OracleCase;

namespace {

using Decoder = test::ElmanDecoder<37, 11, 23>;

std::string token_text_of(std::int32_t i) {
  static const std::string letters = "abcdefghijklmnopqrstuvwxyz";
  std::string s(1, letters[static_cast<std::size_t>(i % 26)]);
  if (i % 3 == 0) s += letters[static_cast<std::size_t>((7 * i + 3) % 26)];
  return s;
}

// A case over the torch decoder: its weights loaded, its prompt.
struct DecoderCase {
  explicit DecoderCase(const char* name) : c(name) { c.load_model(decoder); }
  Tokens prompt() const { return Tokens(ids.view(), lengths.data()); }
  OracleCase c;
  Decoder decoder;
  IntTensor ids = c.int_input("ids"), lengths = c.int_input("lengths");
};

}  // namespace

TEST_CASE("greedy decoding matches the Python reference: batch of prompts, repetition penalty") {
  for (const char* name : {"greedy_batch", "greedy_penalty"}) {
    DecoderCase d(name);
    const OracleCase& c = d.c;
    const Decoder& decoder = d.decoder;
    const Tokens prompt = d.prompt();
    const Index max_length = meta_int(c, "max_length");
    auto state = decoder.make_state(prompt.batch, prompt.length + max_length);
    Workspace ws;
    const Hypotheses h = generate::greedy(decoder, state, prompt,
                                          {.max_length = max_length,
                                           .eos = static_cast<std::int32_t>(meta_int(c, "eos")),
                                           .repetition_penalty = meta_float(c, "repetition_penalty")},
                                          ws);
    test::check_hypotheses(h, c, "", name);
  }
}

TEST_CASE("greedy decoding stops at a stop string spanning two tokens, and streams every token") {
  DecoderCase d("greedy_stop");
  const OracleCase& c = d.c;
  const Decoder& decoder = d.decoder;
  const Tokens prompt = d.prompt();
  auto state = decoder.make_state(prompt.batch, prompt.length + 24);
  std::vector<std::string> texts(static_cast<std::size_t>(prompt.batch));
  std::vector<std::vector<std::int32_t>> streamed(static_cast<std::size_t>(prompt.batch));
  std::vector<std::string> pieces;
  for (std::int32_t i = 0; i < 37; ++i) pieces.push_back(token_text_of(i));
  generate::GreedyOptions options{.max_length = 24};
  options.stream.stop_strings = {c.meta("stop"), "#"};
  options.stream.token_text = [&](std::int32_t id) { return std::string_view(pieces[static_cast<std::size_t>(id)]); };
  options.stream.on_token = [&](Index row, std::int32_t id) { streamed[static_cast<std::size_t>(row)].push_back(id); };
  Workspace ws;
  const Hypotheses h = generate::greedy(decoder, state, prompt, options, ws);
  test::check_hypotheses(h, c, "", "greedy_stop");
  CHECK(h.finish(0) == generate::Finish::stop_string);
  for (Index r = 0; r < prompt.batch; ++r) {
    const auto t = h.tokens(r);
    CHECK(streamed[static_cast<std::size_t>(r)] == std::vector<std::int32_t>(t.begin(), t.end()));
  }
}

TEST_CASE("beam search matches the Python reference: tokens, finishes and scores of the n best") {
  for (const char* name : {"beam_w3", "beam_w4_short", "beam_w2_no_eos", "beam_w5_long"}) {
    DecoderCase d(name);
    const OracleCase& c = d.c;
    const Decoder& decoder = d.decoder;
    const Tokens prompt = d.prompt();
    const generate::BeamOptions options{.max_length = meta_int(c, "max_length"),
                                        .eos = static_cast<std::int32_t>(meta_int(c, "eos")),
                                        .width = meta_int(c, "width"),
                                        .length_penalty = meta_float(c, "length_penalty"),
                                        .n_best = meta_int(c, "n_best")};
    auto state = decoder.make_state(prompt.batch * options.width, prompt.length + options.max_length);
    Workspace ws;
    test::check_hypotheses(generate::beam_search(decoder, state, prompt, options, ws), c, "", name);
  }
}

TEST_CASE("sampling with a seed reproduces the text recorded from the Python generator and sampler") {
  for (const char* name : {"sample_plain", "sample_top_k", "sample_top_p", "sample_all"}) {
    DecoderCase d(name);
    const OracleCase& c = d.c;
    const Decoder& decoder = d.decoder;
    const Tokens prompt = d.prompt();
    const generate::SamplingOptions options{.max_length = meta_int(c, "max_length"),
                                            .eos = static_cast<std::int32_t>(meta_int(c, "eos")),
                                            .temperature = meta_float(c, "temperature"),
                                            .top_k = meta_int(c, "top_k"),
                                            .top_p = meta_float(c, "top_p"),
                                            .repetition_penalty = meta_float(c, "repetition_penalty"),
                                            .seed = std::stoull(c.meta("seed"))};
    auto state = decoder.make_state(prompt.batch, prompt.length + options.max_length);
    Workspace ws;
    test::check_hypotheses(generate::sample(decoder, state, prompt, options, ws), c, "", name);
  }
}

TEST_CASE("CTC greedy and prefix beam search match the Python reference") {
  for (const char* name : {"ctc_blank_first", "ctc_blank_last"}) {
    OracleCase c(name);
    const Tensor x = c.input("log_probs");
    const IntTensor lengths = c.int_input("lengths");
    const Seq<7> log_probs(x, lengths.data());
    const Index blank = meta_int(c, "blank");
    Workspace ws;
    test::check_hypotheses(generate::ctc_greedy(log_probs, blank, ws), c, "greedy_", std::string(name) + " greedy");
    const Hypotheses beam = generate::ctc_beam_search(
        log_probs, {.width = meta_int(c, "width"), .blank = blank, .n_best = meta_int(c, "n_best")}, ws);
    test::check_hypotheses(beam, c, "beam_", std::string(name) + " beam");
  }
}
