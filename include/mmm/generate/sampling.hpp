#pragma once
// Sampling: at every step each row draws its next token from the model's distribution,
// reshaped by the usual options, until EOS, a stop string or max_length.
//
//   generate::sample(decoder, state, prompt,
//                    {.max_length = 64, .eos = 2, .temperature = 0.8f, .top_k = 40, .top_p = 0.95f, .seed = 7}, ws);
//
// The draw, for row r's logits z (after the repetition penalty), defined here to the
// operation so that a seed gives the same text everywhere (tools/mmm_generate.py, sample(),
// is the same procedure in Python and tests/generate checks text recorded from it):
//   1. w = z / temperature (float; skipped at 1).
//   2. top_k in (0, V): the candidates are the k largest w (equal: lower id first); else all V.
//      m = the largest candidate w; e_i = exp(w_i − m) (float), total = Σ e_i (double).
//   3. top_p < 1: the candidates by decreasing w (equal: lower id first); token j is kept while
//      the sum of e before it is below top_p · total (the first always is): the nucleus.
//   4. u = Pcg32(seed).uniform() — one draw per running row per step, rows in order, one
//      generator for the call; target = u · Σ e over the kept tokens. Walking the kept tokens
//      by increasing id and summing their e (double), the token is the first where the sum
//      exceeds target (the last kept one if rounding leaves none).
// Across platforms only the last bits of exp may differ, which moves a draw only when u falls
// within ~1e-7 of a boundary. Options out of range — temperature or repetition penalty not
// positive, top_p outside (0, 1], top_k negative — are RangeErrors. Results live in ws.

#include <algorithm>
#include <cstdint>

#include "mmm/generate/random.hpp"
#include "mmm/generate/token_loop.hpp"
#include "mmm/kernels/math.hpp"
#include "mmm/kernels/select.hpp"

namespace mmm::generate {

struct SamplingOptions {
  index max_length = 0;             // prompt + generated tokens per row
  std::int32_t eos = -1;            // end-of-sequence id; −1: none
  float temperature = 1.0f;         // > 0
  index top_k = 0;                  // keep the k most probable; 0 (or ≥ V): all
  float top_p = 1.0f;               // (0, 1]: the nucleus; 1: all
  float repetition_penalty = 1.0f;  // > 0; 1: none
  std::uint64_t seed = 0;           // Pcg32(seed)
  StreamOptions stream = {};        // a callback per token, stop strings
};

namespace detail {

// The draw of the header comment, with every buffer taken from the Workspace up front.
class Sampler {
 public:
  Sampler(const SamplingOptions& o, index vocab, Workspace& ws)
      : temperature_(o.temperature),
        top_p_(o.top_p),
        vocab_(vocab),
        rng_(o.seed),
        top_k_(o.top_k > 0 && o.top_k < vocab ? o.top_k : 0) {
    constexpr const char* who = "generate::sample";
    check_positive(who, "the temperature", o.temperature);
    if (!(o.top_p > 0.0f && o.top_p <= 1.0f))
      throw RangeError(std::string(who) + ": top_p must be in (0, 1], got " + std::to_string(o.top_p));
    if (o.top_k < 0) throw RangeError(std::string(who) + ": top_k must be 0 (all) or positive, got " + std::to_string(o.top_k));
    w_ = ws.allocate<float>(vocab);
    e_ = ws.allocate<float>(vocab);
    values_ = ws.allocate<float>(vocab);
    ids_ = ws.allocate<std::int32_t>(vocab);
    kept_ = ws.allocate<Kept>(vocab);
  }

  std::int32_t choose(const float* z) {
    const index V = vocab_;
    const float t = temperature_;
    for (index i = 0; i < V; ++i) w_[i] = t == 1.0f ? z[i] : z[i] / t;

    // The candidates: the top k by w (sorted), or every id.
    index sorted = 0;  // how many of values_/ids_ hold the best w in order
    float m;
    double total = 0;
    if (top_k_ > 0) {
      kernels::top_k(w_, V, top_k_, values_, ids_);
      sorted = top_k_;
      m = values_[0];
      exps(values_, sorted, m);
      for (index j = 0; j < sorted; ++j) total += e_[j];
    } else {
      m = kernels::reduce_max(w_, V);
      exps(w_, V, m);
      for (index i = 0; i < V; ++i) total += e_[i];
    }

    index kept = 0;
    double kept_total = 0;
    if (top_p_ < 1.0f) {
      const double threshold = static_cast<double>(top_p_) * total;
      if (top_k_ == 0) {
        // The nucleus is usually small: sort a few of the best, and more only while they
        // hold less than top_p of the mass.
        for (index k = std::min<index>(V, 64);; k = std::min<index>(V, 4 * k)) {
          kernels::top_k(w_, V, k, values_, ids_);
          exps(values_, k, m);
          double mass = 0;
          for (index j = 0; j < k; ++j) mass += e_[j];
          sorted = k;
          if (mass >= threshold || k == V) break;
        }
      }
      while (kept < sorted && kept_total < threshold) {
        kept_[kept] = {ids_[kept], e_[kept]};
        kept_total += e_[kept++];
      }
    } else if (top_k_ > 0) {
      for (; kept < sorted; ++kept) kept_[kept] = {ids_[kept], e_[kept]}, kept_total += e_[kept];
    }

    const double target = rng_.uniform() * (kept > 0 ? kept_total : total);
    double sum = 0;
    if (kept == 0) {  // every id, in id order
      for (index i = 0; i < V; ++i)
        if ((sum += e_[i]) > target) return static_cast<std::int32_t>(i);
      return static_cast<std::int32_t>(V - 1);
    }
    std::sort(kept_, kept_ + kept, [](const Kept& a, const Kept& b) { return a.id < b.id; });
    for (index j = 0; j < kept; ++j)
      if ((sum += kept_[j].e) > target) return kept_[j].id;
    return kept_[kept - 1].id;
  }

 private:
  struct Kept {
    std::int32_t id;
    float e;
  };

  // e_[0, n) = exp(x[0, n) − m).
  void exps(const float* x, index n, float m) {
    for (index i = 0; i < n; ++i) e_[i] = x[i] - m;
    kernels::exp(e_, e_, n);
  }

  float temperature_, top_p_;
  index vocab_;
  Pcg32 rng_;
  index top_k_;
  float* w_ = nullptr;
  float* e_ = nullptr;
  float* values_ = nullptr;
  std::int32_t* ids_ = nullptr;
  Kept* kept_ = nullptr;
};

}  // namespace detail

template <StepDecoder D>
Hypotheses sample(const D& decoder, typename D::State& state, const Tokens& prompt, const SamplingOptions& options,
                  Workspace& ws) {
  return detail::token_loop("generate::sample", decoder, state, prompt,
                            {options.max_length, options.eos, options.repetition_penalty}, options.stream, ws,
                            [&](Workspace& scratch) {
                              return [sampler = detail::Sampler(options, D::vocab_size, scratch)](
                                         index, const float* logits) mutable { return sampler.choose(logits); };
                            });
}

}  // namespace mmm::generate
