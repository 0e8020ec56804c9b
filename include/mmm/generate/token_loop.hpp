#pragma once
// What greedy decoding and sampling share: one token per row per step until every row ends,
// with streaming (a callback per token), stop strings, the repetition penalty and the scores.
// Only the choice of the token differs (generate/greedy.hpp, generate/sampling.hpp).
//
// A step's rows are handled in row order; a row that has ended is still fed (its last token
// again, as decoders step every row together) but nothing is read from it. Every buffer is
// taken from the Workspace before the first step and the decoder's scratch is released after
// each, so a generated token allocates nothing.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "mmm/core/errors.hpp"
#include "mmm/core/threading.hpp"
#include "mmm/core/workspace.hpp"
#include "mmm/generate/decoder.hpp"
#include "mmm/generate/hypotheses.hpp"
#include "mmm/generate/stop_strings.hpp"
#include "mmm/kernels/math.hpp"

namespace mmm::generate {

// Streaming and stopping for greedy decoding and sampling.
struct StreamOptions {
  // Called with each token as soon as it is chosen (EOS included), rows in order within a step.
  std::function<void(index row, std::int32_t token)> on_token;
  // A row ends when its generated text reaches one of these (see StopStrings); needs token_text.
  std::vector<std::string> stop_strings;
  // The bytes token `id` stands for: the tokenizer's piece (ByteLevelBpe::token_bytes, …).
  std::function<std::string_view(std::int32_t id)> token_text;
};

namespace detail {

// log Σ exp(z) over n logits, through `scratch` (n floats); NaN when a logit is NaN.
inline double log_sum_exp(const float* z, index n, float* scratch) {
  const float m = kernels::reduce_max(z, n);
  if (!std::isfinite(m)) return m == m && m < 0 ? -std::numeric_limits<double>::infinity() : std::nan("");
  for (index i = 0; i < n; ++i) scratch[i] = z[i] - m;
  kernels::exp(scratch, scratch, n);
  // Vector sums of short spans in float, the spans in double: as accurate as a double sum
  // for a vocabulary's terms (each ≤ 1), and not one add after another (~10 µs at 8000).
  constexpr index span = 256;
  double sum = 0;
  for (index i = 0; i < n; i += span) sum += kernels::reduce_sum(scratch + i, std::min(span, n - i));
  return static_cast<double>(m) + std::log(sum);
}

inline void check_positive(const char* who, const char* what, float value) {
  if (!(value > 0.0f) || !std::isfinite(value))
    throw RangeError(std::string(who) + ": " + what + " must be positive and finite, got " + std::to_string(value));
}

// CTRL's repetition penalty (Keskar et al. 2019), as Hugging Face applies it: every id already
// in a row (prompt or generated) has its logit divided by ρ when positive, multiplied by ρ
// when not. Each row keeps the distinct ids it has seen, in the Workspace.
class RepetitionPenalty {
 public:
  RepetitionPenalty(float penalty, index rows, index vocab, index capacity, Workspace& ws)
      : penalty_(penalty), vocab_(vocab), capacity_(capacity) {
    if (!active()) return;
    seen_ = ws.allocate<std::uint8_t>(checked_mul(rows, vocab, "repetition penalty"));
    ids_ = ws.allocate<std::int32_t>(checked_mul(rows, capacity, "repetition penalty"));
    counts_ = ws.allocate<index>(rows);
    for (index i = 0; i < rows * vocab; ++i) seen_[i] = 0;
    for (index r = 0; r < rows; ++r) counts_[r] = 0;
  }
  bool active() const noexcept { return penalty_ != 1.0f; }

  void add(index row, std::int32_t id) noexcept {
    if (!active()) return;
    std::uint8_t& s = seen_[row * vocab_ + id];
    if (s) return;
    s = 1;
    ids_[row * capacity_ + counts_[row]++] = id;
  }
  // z[id] for every seen id of `row`, penalized in place.
  void apply(index row, float* z) const noexcept {
    for (index i = 0; i < counts_[row]; ++i) {
      float& v = z[ids_[row * capacity_ + i]];
      v = v > 0.0f ? v / penalty_ : v * penalty_;
    }
  }

 private:
  float penalty_;
  index vocab_, capacity_;
  std::uint8_t* seen_ = nullptr;
  std::int32_t* ids_ = nullptr;
  index* counts_ = nullptr;
};

struct TokenLoopLimits {
  index max_length = 0;
  std::int32_t eos = -1;
  float repetition_penalty = 1.0f;
};

// make_chooser(ws) gives choose(row, logits) → token, which reads the row's logits after the
// repetition penalty; it is made once the results have their room, so that its buffers are
// this call's scratch.
template <StepDecoder D, class MakeChooser>
Hypotheses token_loop(const char* who, const D& decoder, typename D::State& state, const Tokens& prompt,
                      const TokenLoopLimits& limits, const StreamOptions& stream, Workspace& ws,
                      MakeChooser&& make_chooser) {
  constexpr index V = D::vocab_size;
  const index longest = check_prompt(who, prompt, V);
  check_max_length(who, prompt, limits.max_length);
  check_eos(who, limits.eos, V);
  check_positive(who, "the repetition penalty", limits.repetition_penalty);
  if (!stream.stop_strings.empty() && !stream.token_text)
    throw RangeError(std::string(who) + ": stop strings need token_text, the text of a token id");
  const index rows = prompt.batch;
  index shortest = longest;
  for (index r = 0; r < rows; ++r) shortest = std::min(shortest, prompt.valid_length(r));
  const index most_new = limits.max_length - shortest;
  check_state(who, state, rows, longest + most_new - 1);

  Hypotheses out = Hypotheses::allocate(ws, rows, 1, most_new);
  const Workspace::Mark scratch = ws.mark();
  std::int32_t* next = ws.allocate<std::int32_t>(rows);
  index* produced = ws.allocate<index>(rows);
  double* scores = ws.allocate<double>(rows);
  bool* done = ws.allocate<bool>(rows);
  float* penalized = ws.allocate<float>(V);
  float* exps = ws.allocate<float>(V);
  RepetitionPenalty penalty(limits.repetition_penalty, rows, V, limits.max_length, ws);
  StopStrings stops(stream.stop_strings, rows, ws);
  auto choose = make_chooser(ws);
  for (index r = 0; r < rows; ++r) {
    produced[r] = 0, scores[r] = 0, done[r] = false;
    for (index t = 0; t < prompt.valid_length(r); ++t) penalty.add(r, prompt.ids[r * prompt.length + t]);
  }

  // One team stands by for the whole loop (with_team): a token of a small decoder is tens
  // of µs, and each token's parallel products would otherwise wake sleeping workers again.
  with_team(num_threads(), [&] {
    Tokens feed = prompt;
    for (index step = 0;; ++step) {
      const Workspace::Mark step_scratch = ws.mark();
      const Feat<V> logits = decoder.step(feed, state, ws);
      index running = 0;
      for (index r = 0; r < rows; ++r) {
        if (done[r]) continue;
        const float* z = logits.data + r * V;
        const float* w = z;
        if (penalty.active()) {
          std::copy(z, z + V, penalized);
          penalty.apply(r, penalized);
          w = penalized;
        }
        const double lse = log_sum_exp(z, V, exps);
        if (std::isnan(lse))
          throw Error(std::string(who) + ": the decoder gave NaN logits for row " + std::to_string(r) + " at step " +
                      std::to_string(step));
        const std::int32_t token = choose(r, w);
        scores[r] += static_cast<double>(z[token]) - lse;
        out.tokens_of(r, 0)[produced[r]++] = token;
        next[r] = token;
        penalty.add(r, token);
        if (stream.on_token) stream.on_token(r, token);
        Finish finish = Finish::max_length;
        bool ended = produced[r] == limits.max_length - prompt.valid_length(r);
        if (token == limits.eos) ended = true, finish = Finish::eos;
        else if (!stops.empty() && stops.append(r, stream.token_text(token))) ended = true, finish = Finish::stop_string;
        if (ended) {
          done[r] = true;
          out.set(r, 0, produced[r], static_cast<float>(scores[r]), finish);
        } else {
          ++running;
        }
      }
      ws.release(step_scratch);
      if (running == 0) break;
      feed = Tokens(next, rows, 1);
    }
  });
  ws.release(scratch);
  return out;
}

}  // namespace detail

}  // namespace mmm::generate
