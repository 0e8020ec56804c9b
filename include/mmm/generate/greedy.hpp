#pragma once
// Greedy decoding: at every step each row takes its most probable next token (after the
// repetition penalty, if one is set), until EOS, a stop string or max_length.
//
//   auto state = decoder.make_state(prompt.batch, prompt.length + 32);
//   const Hypotheses out = generate::greedy(decoder, state, prompt, {.max_length = 32, .eos = 2}, ws);
//   out.tokens(row), out.score(row), out.finish(row)
//
// max_length counts the prompt: row r generates at most max_length − (its prompt length)
// tokens; a max_length that leaves no room after some row's prompt is a RangeError, as is an
// empty prompt. The state is continued, not reset (see generate/decoder.hpp); it needs
// prompt.batch rows. Equal logits go to the lower id. Results live in ws (see Hypotheses).

#include "mmm/generate/token_loop.hpp"
#include "mmm/kernels/select.hpp"

namespace mmm::generate {

struct GreedyOptions {
  index max_length = 0;             // prompt + generated tokens per row
  std::int32_t eos = -1;            // end-of-sequence id; −1: none
  float repetition_penalty = 1.0f;  // > 0; 1: none (see detail::RepetitionPenalty)
  StreamOptions stream = {};        // a callback per token, stop strings
};

template <StepDecoder D>
Hypotheses greedy(const D& decoder, typename D::State& state, const Tokens& prompt, const GreedyOptions& options,
                  Workspace& ws) {
  return detail::token_loop("generate::greedy", decoder, state, prompt,
                            {options.max_length, options.eos, options.repetition_penalty}, options.stream, ws,
                            [](Workspace&) {
                              return [](index, const float* logits) {
                                return static_cast<std::int32_t>(kernels::argmax(logits, D::vocab_size));
                              };
                            });
}

}  // namespace mmm::generate
