#pragma once
// CTC decoding (Graves et al. 2006) of an acoustic model's per-frame log-probabilities,
// Seq<V> (N × T × V, log_softmax over V = labels + blank, Seq::lengths frames per item):
//
//   ctc_greedy(log_probs, blank, ws)          the best path: each frame's most probable label
//                                             (equal: lower id), repeats merged, blanks removed;
//                                             score = the path's log-probability
//   ctc_beam_search(log_probs, options, ws)   prefix beam search (Hannun et al. 2014, no
//                                             language model): up to n_best labellings, best
//                                             first, score = log P(labelling) summed over the
//                                             alignments the beam kept
//
// Prefix beam search, to the operation (tools/mmm_generate.py, ctc_prefix_beam_search, is
// the same in Python): each prefix ℓ has log-probabilities p_b (ending in blank) and p_nb
// (ending in its last label e), starting from the empty prefix with p_b = 0. At frame t, with
// y the frame's log-probabilities and ⊕ = log-add-exp:
//   ℓ stays:            p_b' = (p_b ⊕ p_nb) + y_blank;   p_nb' = p_nb + y_e (ℓ not empty)
//   ℓ + c, c ≠ blank:   p_nb'(ℓ + c) = p_b + y_c if c = e, else (p_b ⊕ p_nb) + y_c
// where ℓ + c is itself a prefix in the beam, that term joins its p_nb'. The `width` best by
// p_b' ⊕ p_nb' go on — equal ones in the order: the beam's prefixes as they were, then the
// new ones by (beam, c); prefixes of probability 0 never do. Prefixes are nodes of a trie (parent, label) made as beams extend,
// so a beam never copies its labels. Every buffer is taken from the Workspace; nothing is
// allocated per frame. An item of 0 frames decodes to nothing with score 0.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include "mmm/core/errors.hpp"
#include "mmm/core/kinds.hpp"
#include "mmm/core/workspace.hpp"
#include "mmm/generate/hypotheses.hpp"
#include "mmm/kernels/select.hpp"

namespace mmm::generate {

struct CtcBeamOptions {
  index width = 8;   // prefixes kept per frame, ≥ 1
  index blank = 0;   // the blank label
  index n_best = 1;  // labellings returned per item, in [1, width]
};

namespace detail {

inline double log_add(double a, double b) noexcept {
  if (a < b) std::swap(a, b);
  if (b == -std::numeric_limits<double>::infinity()) return a;
  return a + std::log1p(std::exp(b - a));
}

template <index V>
void check_ctc_input(const char* who, const Seq<V>& x, index blank) {
  if (blank < 0 || blank >= V)
    throw RangeError(std::string(who) + ": blank " + std::to_string(blank) + " is outside the " + std::to_string(V) + " labels");
  for (index b = 0; b < x.batch; ++b)
    if (x.valid_length(b) < 0 || x.valid_length(b) > x.length)
      throw RangeError(std::string(who) + ": item " + std::to_string(b) + " claims " + std::to_string(x.valid_length(b)) +
                       " frames of " + std::to_string(x.length));
}

}  // namespace detail

template <index V>
Hypotheses ctc_greedy(const Seq<V>& log_probs, index blank, Workspace& ws) {
  detail::check_ctc_input("generate::ctc_greedy", log_probs, blank);
  Hypotheses out = Hypotheses::allocate(ws, log_probs.batch, 1, log_probs.length);
  for (index b = 0; b < log_probs.batch; ++b) {
    std::int32_t* labels = out.tokens_of(b, 0);
    index n = 0, previous = -1;
    double score = 0;
    for (index t = 0; t < log_probs.valid_length(b); ++t) {
      const float* y = log_probs.data + (b * log_probs.length + t) * V;
      const index best = kernels::argmax(y, V);
      score += y[best];
      if (best != blank && best != previous) labels[n++] = static_cast<std::int32_t>(best);
      previous = best;
    }
    out.set(b, 0, n, static_cast<float>(score), Finish::max_length);
  }
  return out;
}

template <index V>
Hypotheses ctc_beam_search(const Seq<V>& log_probs, const CtcBeamOptions& options, Workspace& ws) {
  constexpr const char* who = "generate::ctc_beam_search";
  constexpr double minus_inf = -std::numeric_limits<double>::infinity();
  const index W = options.width, blank = options.blank, T = log_probs.length;
  if (W < 1) throw RangeError(std::string(who) + ": the beam width must be at least 1, got " + std::to_string(W));
  if (options.n_best < 1 || options.n_best > W)
    throw RangeError(std::string(who) + ": n_best must be in [1, width = " + std::to_string(W) + "], got " +
                     std::to_string(options.n_best));
  detail::check_ctc_input(who, log_probs, blank);

  Hypotheses out = Hypotheses::allocate(ws, log_probs.batch, options.n_best, T);
  const Workspace::Mark scratch = ws.mark();
  // The trie: node 0 is the empty prefix; each frame adds at most W nodes.
  const index max_nodes = checked_add(1, checked_mul(T, W, who), who);
  std::int32_t* node_parent = ws.allocate<std::int32_t>(max_nodes);
  std::int32_t* node_label = ws.allocate<std::int32_t>(max_nodes);
  index* node_length = ws.allocate<index>(max_nodes);
  index slots = 1;
  while (slots < 2 * max_nodes) slots *= 2;
  std::int64_t* slot_key = ws.allocate<std::int64_t>(slots);
  std::int32_t* slot_node = ws.allocate<std::int32_t>(slots);

  struct Beam {
    std::int32_t node;
    double pb, pnb;
  };
  struct Candidate {
    double pb, pnb, total;
    index order;
    std::int32_t beam, label;  // label −1: the beam's own prefix
  };
  Beam* beams = ws.allocate<Beam>(W);
  Beam* next = ws.allocate<Beam>(W);
  double* extend = ws.allocate<double>(checked_mul(W, V, who));  // p_nb' of beam i + label c
  Candidate* candidates = ws.allocate<Candidate>(checked_mul(W, V, who));

  for (index b = 0; b < log_probs.batch; ++b) {
    index nodes = 1;
    node_parent[0] = -1, node_label[0] = -1, node_length[0] = 0;
    for (index s = 0; s < slots; ++s) slot_key[s] = -1;
    // The node of prefix (parent, label), made when missing.
    auto child = [&](std::int32_t parent, std::int32_t label) {
      const std::int64_t key = static_cast<std::int64_t>(parent) * V + label;
      index s = static_cast<index>((static_cast<std::uint64_t>(key) * 0x9E3779B97F4A7C15ULL) >> 11) & (slots - 1);
      while (slot_key[s] != -1 && slot_key[s] != key) s = (s + 1) & (slots - 1);
      if (slot_key[s] == -1) {
        slot_key[s] = key;
        slot_node[s] = static_cast<std::int32_t>(nodes);
        node_parent[nodes] = parent, node_label[nodes] = label, node_length[nodes] = node_length[parent] + 1;
        ++nodes;
      }
      return slot_node[s];
    };

    index live = 1;
    beams[0] = {0, 0.0, minus_inf};
    for (index t = 0; t < log_probs.valid_length(b); ++t) {
      const float* y = log_probs.data + (b * T + t) * V;
      index n = 0;
      for (index i = 0; i < live; ++i) {
        const Beam& p = beams[i];
        const double total = detail::log_add(p.pb, p.pnb);
        const std::int32_t e = node_label[p.node];
        candidates[n] = {total + y[blank], e >= 0 ? p.pnb + y[e] : minus_inf, 0, n, static_cast<std::int32_t>(i), -1};
        ++n;
        double* ext = extend + i * V;
        for (index c = 0; c < V; ++c)
          ext[c] = c == blank ? minus_inf : (c == e ? p.pb : total) + static_cast<double>(y[c]);
      }
      // An extension that is another beam's prefix adds to that beam instead.
      for (index j = 0; j < live; ++j) {
        const std::int32_t parent = node_parent[beams[j].node];
        for (index i = 0; i < live && parent >= 0; ++i)
          if (beams[i].node == parent) {
            double& ext = extend[i * V + node_label[beams[j].node]];
            candidates[j].pnb = detail::log_add(candidates[j].pnb, ext);
            ext = minus_inf;
          }
      }
      for (index i = 0; i < live; ++i) candidates[i].total = detail::log_add(candidates[i].pb, candidates[i].pnb);
      for (index i = 0; i < live; ++i)
        for (index c = 0; c < V; ++c) {
          const double ext = extend[i * V + c];
          if (ext != minus_inf) {
            candidates[n] = {minus_inf, ext, ext, n, static_cast<std::int32_t>(i), static_cast<std::int32_t>(c)};
            ++n;
          }
        }
      // Prefixes of probability 0 (a label's log-probability −∞) go nowhere.
      index finite = 0;
      for (index k = 0; k < n; ++k) finite += candidates[k].total != minus_inf;
      const index keep = std::min(W, finite);
      std::partial_sort(candidates, candidates + keep, candidates + n, [](const Candidate& a, const Candidate& c) {
        return a.total != c.total ? a.total > c.total : a.order < c.order;
      });
      for (index k = 0; k < keep; ++k) {
        const Candidate& c = candidates[k];
        const std::int32_t node = c.label < 0 ? beams[c.beam].node : child(beams[c.beam].node, c.label);
        next[k] = {node, c.pb, c.pnb};
      }
      std::swap(beams, next);
      live = keep;
    }
    // The beam is ordered by total already, equal totals by their order of making.
    for (index rank = 0; rank < std::min(options.n_best, live); ++rank) {
      const Beam& p = beams[rank];
      std::int32_t* labels = out.tokens_of(b, rank);
      const index length = node_length[p.node];
      for (std::int32_t node = p.node; node > 0; node = node_parent[node]) labels[node_length[node] - 1] = node_label[node];
      out.set(b, rank, length, static_cast<float>(detail::log_add(p.pb, p.pnb)), Finish::max_length);
    }
  }
  ws.release(scratch);
  return out;
}

}  // namespace mmm::generate
