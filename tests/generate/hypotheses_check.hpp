#pragma once
// Decoded hypotheses against an oracle case's packed outputs (tests/generate/parity_oracle.py,
// pack()): the same counts, tokens and finishes, and scores within 1e-4. decode_case() runs
// the algorithm a case's metadata names (its decode() in parity_oracle.py).

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "mmm/generate.hpp"
#include "support/oracle.hpp"

namespace mmm::test {

// Every hypothesis of `h` against the case's packed outputs (prefix "" or "beam_" …).
inline void check_hypotheses(const generate::Hypotheses& h, const OracleCase& c, const std::string& prefix, const std::string& what) {
  const IntTensor tokens = c.int_output(prefix + "tokens"), lengths = c.int_output(prefix + "lengths");
  const IntTensor finish = c.int_output(prefix + "finish"), counts = c.int_output(prefix + "counts");
  const Tensor scores = c.output(prefix + "scores");
  const Index items = counts.numel(), per_item = lengths.dim(1), stride = tokens.dim(2);
  REQUIRE(h.items() == items);
  Tensor actual_scores(scores.shape());
  for (Index b = 0; b < items; ++b) {
    INFO(what << ": item " << b);
    REQUIRE(h.count(b) == counts[b]);
    for (Index k = 0; k < counts[b]; ++k) {
      INFO("hypothesis " << k);
      const auto got = h.tokens(b, k);
      std::vector<std::int32_t> expected(tokens.data() + (b * per_item + k) * stride,
                                         tokens.data() + (b * per_item + k) * stride + lengths[b * per_item + k]);
      CHECK(std::vector<std::int32_t>(got.begin(), got.end()) == expected);
      CHECK(static_cast<int>(h.finish(b, k)) == finish[b * per_item + k]);
      actual_scores[b * per_item + k] = h.score(b, k);
    }
    for (Index k = counts[b]; k < per_item; ++k) actual_scores[b * per_item + k] = scores[b * per_item + k];
  }
  require_close(actual_scores, scores, 1e-4, what + ": scores");
}

inline Index meta_int(const OracleCase& c, const std::string& key) { return std::stoll(c.meta(key)); }
inline float meta_float(const OracleCase& c, const std::string& key) { return std::stof(c.meta(key)); }

// Greedy, beam search or sampling as the case's "kind" says, from make_state(rows).
template <class Decoder, class MakeState>
generate::Hypotheses decode_case(const Decoder& decoder, const OracleCase& c, const Tokens& prompt,
                                 MakeState&& make_state, Workspace& ws) {
  const Index max_length = meta_int(c, "max_length");
  const auto eos = static_cast<std::int32_t>(meta_int(c, "eos"));
  const std::string kind = c.meta("kind");
  if (kind == "beam") {
    const generate::BeamOptions o{.max_length = max_length, .eos = eos, .width = meta_int(c, "width"),
                                  .length_penalty = meta_float(c, "length_penalty"), .n_best = meta_int(c, "n_best")};
    auto state = make_state(prompt.batch * o.width);
    return generate::beam_search(decoder, state, prompt, o, ws);
  }
  auto state = make_state(prompt.batch);
  if (kind == "greedy") return generate::greedy(decoder, state, prompt, {.max_length = max_length, .eos = eos}, ws);
  return generate::sample(decoder, state, prompt,
                          {.max_length = max_length, .eos = eos, .temperature = meta_float(c, "temperature"),
                           .top_k = meta_int(c, "top_k"), .top_p = meta_float(c, "top_p"),
                           .seed = std::stoull(c.meta("seed"))},
                          ws);
}

}  // namespace mmm::test
