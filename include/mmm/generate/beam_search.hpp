#pragma once
// Beam search: each prompt row keeps `width` partial sequences (beams), ranked by the sum of
// their tokens' log-probabilities, and returns its n_best finished ones — the procedure of
// Hugging Face's BeamSearchScorer with early_stopping = False, here to the operation (the
// same in tools/mmm_generate.py, beam_search(), which tests/generate compares with):
//
//   rows = prompt.batch × width: row b·width + w is beam w of prompt row b, and the state
//   must have that many (make_state(prompt.batch · width, prompt.length + max_length)).
//   Every beam starts as the prompt; only beam 0 is live at first (the others' score −∞).
//   At step t (t + 1 generated tokens per beam after it), for each unfinished item:
//     1. every live beam w proposes its 2·width most probable next tokens c (equal logits:
//        lower id first) with score s_w + log_softmax(logits_w)[c];
//     2. the 2·width best proposals of all beams (equal scores: lower w·V + c first) are read
//        in order: an EOS proposal ranked below `width` is dropped, one ranked within it
//        becomes a finished hypothesis; the others become the next beams, until there are
//        `width` of them (fewer leave dead beams, score −∞);
//     3. a finished hypothesis of L tokens (its EOS included) scores sum / L^length_penalty;
//        the item keeps its `width` best (a new one enters only if strictly better than the
//        worst; of equal worst ones the oldest leaves);
//     4. the item is done when it has `width` finished hypotheses and the worst of them is at
//        least the best live beam's sum / (t + 1)^length_penalty, or no beam is live; or when
//        its beams reach max_length, and then they all join the hypotheses as they are.
//   The n_best hypotheses, best first (equal scores: the earlier one), are the result.
//
// Beams move between rows only through state.reorder(sources) once per step, and their
// tokens are kept as one (token, parent) pair per row and step and read back at the end:
// nothing copies a history. Every buffer comes from the Workspace before the first step.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include "mmm/generate/decoder.hpp"
#include "mmm/generate/hypotheses.hpp"
#include "mmm/generate/token_loop.hpp"
#include "mmm/kernels/select.hpp"

namespace mmm::generate {

struct BeamOptions {
  index max_length = 0;         // prompt + generated tokens per row
  std::int32_t eos = -1;        // end-of-sequence id; −1: none (beams then end at max_length)
  index width = 4;              // beams per prompt row, ≥ 1
  float length_penalty = 1.0f;  // exponent α of the length in sum / L^α; > 0 favours longer ones
  index n_best = 1;             // hypotheses returned per prompt row, in [1, width]
};

namespace detail {

struct BeamProposal {
  double score;
  index flat;  // w·V + token: the order of equal scores
  std::int32_t beam, token;
};

struct BeamHypothesis {
  double score;
  index serial;                   // order of arrival, for equal scores
  index step, parent, length;     // the step it ended at, the row it came from, its tokens
  std::int32_t token;             // its last token
  Finish finish;
};

}  // namespace detail

template <StepDecoder D>
Hypotheses beam_search(const D& decoder, typename D::State& state, const Tokens& prompt, const BeamOptions& options,
                       Workspace& ws) {
  constexpr const char* who = "generate::beam_search";
  constexpr index V = D::vocab_size;
  constexpr double minus_inf = -std::numeric_limits<double>::infinity();
  const index W = options.width;
  if (W < 1) throw RangeError(std::string(who) + ": the beam width must be at least 1, got " + std::to_string(W));
  if (options.n_best < 1 || options.n_best > W)
    throw RangeError(std::string(who) + ": n_best must be in [1, width = " + std::to_string(W) + "], got " +
                     std::to_string(options.n_best));
  if (!std::isfinite(options.length_penalty))
    throw RangeError(std::string(who) + ": the length penalty must be finite, got " + std::to_string(options.length_penalty));
  const index longest = detail::check_prompt(who, prompt, V);
  detail::check_max_length(who, prompt, options.max_length);
  detail::check_eos(who, options.eos, V);
  const index items = prompt.batch, rows = checked_mul(items, W, who), T = prompt.length;
  index shortest = longest;
  for (index b = 0; b < items; ++b) shortest = std::min(shortest, prompt.valid_length(b));
  const index most_new = options.max_length - shortest;
  detail::check_state(who, state, rows, longest + most_new - 1);

  Hypotheses out = Hypotheses::allocate(ws, items, options.n_best, most_new);
  const Workspace::Mark scratch = ws.mark();
  // The prompt once per beam.
  std::int32_t* ids = ws.allocate<std::int32_t>(checked_mul(rows, T, who));
  std::int32_t* lengths = ws.allocate<std::int32_t>(rows);
  for (index r = 0; r < rows; ++r) {
    std::copy(prompt.ids + (r / W) * T, prompt.ids + (r / W + 1) * T, ids + r * T);
    lengths[r] = static_cast<std::int32_t>(prompt.valid_length(r / W));
  }
  const index K = std::min<index>(2 * W, V);
  double* scores = ws.allocate<double>(rows);
  double* next_scores = ws.allocate<double>(rows);
  std::int32_t* next_tokens = ws.allocate<std::int32_t>(rows);
  index* sources = ws.allocate<index>(rows);
  std::int32_t* history_tokens = ws.allocate<std::int32_t>(checked_mul(most_new, rows, who));
  std::int32_t* history_parents = ws.allocate<std::int32_t>(most_new * rows);
  float* exps = ws.allocate<float>(V);
  float* top_values = ws.allocate<float>(K);
  std::int32_t* top_ids = ws.allocate<std::int32_t>(K);
  detail::BeamProposal* proposals = ws.allocate<detail::BeamProposal>(W * K);
  detail::BeamHypothesis* hyps = ws.allocate<detail::BeamHypothesis>(checked_mul(items, W, who));
  index* hyp_counts = ws.allocate<index>(items);
  index* item_max_new = ws.allocate<index>(items);
  bool* done = ws.allocate<bool>(items);
  for (index b = 0; b < items; ++b) {
    hyp_counts[b] = 0, done[b] = false, item_max_new[b] = options.max_length - prompt.valid_length(b);
    for (index w = 0; w < W; ++w) scores[b * W + w] = w == 0 ? 0.0 : minus_inf;
  }
  const std::int32_t filler = options.eos >= 0 ? options.eos : 0;  // what dead and finished rows are fed
  const double alpha = options.length_penalty;
  index serial = 0;

  auto add_hypothesis = [&](index b, const detail::BeamHypothesis& h) {
    detail::BeamHypothesis* list = hyps + b * W;
    if (hyp_counts[b] < W) {
      list[hyp_counts[b]++] = h;
      return;
    }
    index worst = 0;
    for (index i = 1; i < W; ++i)
      if (list[i].score < list[worst].score || (list[i].score == list[worst].score && list[i].serial < list[worst].serial))
        worst = i;
    if (h.score > list[worst].score) list[worst] = h;
  };

  // One team stands by for the whole search (with_team), as in token_loop.
  with_team(num_threads(), [&] {
    Tokens feed(ids, rows, T, lengths);
    for (index step = 0;; ++step) {
      const Workspace::Mark step_scratch = ws.mark();
      const Feat<V> logits = decoder.step(feed, state, ws);
      const index generated = step + 1;
      const double norm = std::pow(static_cast<double>(generated), alpha);
      index unfinished = 0;
      for (index b = 0; b < items; ++b) {
        if (done[b]) {
          for (index w = 0; w < W; ++w) {
            const index r = b * W + w;
            next_scores[r] = minus_inf, next_tokens[r] = filler, sources[r] = r;
          }
          continue;
        }
        // 1. Every live beam's best proposals.
        index n = 0;
        for (index w = 0; w < W; ++w) {
          const index r = b * W + w;
          if (scores[r] == minus_inf) continue;
          const float* z = logits.data + r * V;
          const double lse = detail::log_sum_exp(z, V, exps);
          if (std::isnan(lse))
            throw Error(std::string(who) + ": the decoder gave NaN logits for row " + std::to_string(r) + " at step " +
                        std::to_string(step));
          kernels::top_k(z, V, K, top_values, top_ids);
          for (index j = 0; j < K; ++j)
            proposals[n++] = {scores[r] + static_cast<double>(top_values[j]) - lse, w * V + top_ids[j],
                              static_cast<std::int32_t>(w), top_ids[j]};
        }
        // 2. The 2·width best of them, in order.
        const index considered = std::min(n, 2 * W);
        std::partial_sort(proposals, proposals + considered, proposals + n,
                          [](const detail::BeamProposal& a, const detail::BeamProposal& c) {
                            return a.score != c.score ? a.score > c.score : a.flat < c.flat;
                          });
        index beams = 0;
        for (index rank = 0; rank < considered && beams < W; ++rank) {
          const detail::BeamProposal& p = proposals[rank];
          const index parent = b * W + p.beam;
          if (p.token == options.eos) {
            if (rank >= W) continue;
            add_hypothesis(b, {p.score / norm, serial++, step, parent, generated, p.token, Finish::eos});
          } else {
            const index r = b * W + beams++;
            next_scores[r] = p.score, next_tokens[r] = p.token, sources[r] = parent;
          }
        }
        for (index w = beams; w < W; ++w) {
          const index r = b * W + w;
          next_scores[r] = minus_inf, next_tokens[r] = filler, sources[r] = b * W;
        }
        // 4. Done?
        if (generated == item_max_new[b]) {
          for (index w = 0; w < beams; ++w) {
            const index r = b * W + w;
            add_hypothesis(b, {next_scores[r] / norm, serial++, step, sources[r], generated, next_tokens[r],
                               Finish::max_length});
          }
          done[b] = true;
        } else if (beams == 0) {
          done[b] = true;
        } else if (hyp_counts[b] == W) {
          double worst = hyps[b * W].score, best = next_scores[b * W];
          for (index i = 1; i < W; ++i) worst = std::min(worst, hyps[b * W + i].score);
          for (index w = 1; w < beams; ++w) best = std::max(best, next_scores[b * W + w]);
          done[b] = worst >= best / norm;
        }
        if (!done[b]) ++unfinished;
      }
      for (index r = 0; r < rows; ++r) {
        history_tokens[step * rows + r] = next_tokens[r];
        history_parents[step * rows + r] = static_cast<std::int32_t>(sources[r]);
        scores[r] = done[r / W] ? minus_inf : next_scores[r];
      }
      ws.release(step_scratch);
      if (unfinished == 0) break;
      state.reorder(std::span<const index>(sources, static_cast<std::size_t>(rows)));
      feed = Tokens(next_tokens, rows, 1);
    }
  });

  // The n_best of each item, best first; tokens read back through the parents.
  for (index b = 0; b < items; ++b) {
    detail::BeamHypothesis* list = hyps + b * W;
    std::sort(list, list + hyp_counts[b], [](const detail::BeamHypothesis& a, const detail::BeamHypothesis& c) {
      return a.score != c.score ? a.score > c.score : a.serial < c.serial;
    });
    for (index rank = 0; rank < std::min(options.n_best, hyp_counts[b]); ++rank) {
      const detail::BeamHypothesis& h = list[rank];
      std::int32_t* tokens = out.tokens_of(b, rank);
      tokens[h.step] = h.token;
      index r = h.parent;
      for (index s = h.step; s-- > 0;) {
        tokens[s] = history_tokens[s * rows + r];
        r = history_parents[s * rows + r];
      }
      out.set(b, rank, h.length, static_cast<float>(h.score), h.finish);
    }
  }
  ws.release(scratch);
  return out;
}

}  // namespace mmm::generate
