#pragma once
// Byte-pair merging by rank over a linked list of symbols, for every BPE here that ranks
// merges by the pair of ids (GPT-2's vocab.json + merges.txt, tokenizer.json's BPE): the
// lowest-ranked adjacent pair merges first, the leftmost of equal ranks, until no pair has
// a merge. The caller fills s.id[0..n) and links s.next / s.prev; merge_pairs() leaves the
// surviving symbols linked from 0, each with its merged id.

#include <algorithm>
#include <climits>
#include <cstdint>
#include <vector>

#include "mmm/preprocess/text/piece_table.hpp"

namespace mmm::detail {

struct PairMergeScratch {
  std::vector<std::int32_t> id, next, prev, rank, merged;
  struct Candidate {
    std::int32_t rank, left, left_id, right_id;
  };
  std::vector<Candidate> heap;
};

// Short pieces: keep each adjacent pair's rank, take the leftmost lowest each round.
inline void merge_scan(const PairMap& merges, std::int32_t n, PairMergeScratch& s) {
  s.rank.resize(static_cast<std::size_t>(n));
  s.merged.resize(static_cast<std::size_t>(n));
  auto update = [&](std::int32_t i) {
    const std::int32_t j = s.next[static_cast<std::size_t>(i)];
    const auto v = j < 0 ? detail::PairMap::Value{} : merges.find(s.id[static_cast<std::size_t>(i)], s.id[static_cast<std::size_t>(j)]);
    s.rank[static_cast<std::size_t>(i)] = v.rank < 0 ? INT32_MAX : v.rank;
    s.merged[static_cast<std::size_t>(i)] = v.merged;
  };
  for (std::int32_t i = 0; i < n; ++i) update(i);
  for (;;) {
    std::int32_t best = -1, best_rank = INT32_MAX;
    for (std::int32_t i = 0; i >= 0; i = s.next[static_cast<std::size_t>(i)])
      if (s.rank[static_cast<std::size_t>(i)] < best_rank) best_rank = s.rank[static_cast<std::size_t>(i)], best = i;
    if (best < 0) return;
    const std::int32_t right = s.next[static_cast<std::size_t>(best)];
    s.id[static_cast<std::size_t>(best)] = s.merged[static_cast<std::size_t>(best)];
    s.next[static_cast<std::size_t>(best)] = s.next[static_cast<std::size_t>(right)];
    if (s.next[static_cast<std::size_t>(right)] >= 0) s.prev[static_cast<std::size_t>(s.next[static_cast<std::size_t>(right)])] = best;
    update(best);
    if (s.prev[static_cast<std::size_t>(best)] >= 0) update(s.prev[static_cast<std::size_t>(best)]);
  }
}

// Long pieces: a heap of candidate merges ordered by (rank, position); stale entries
// are recognized by their recorded ids.
inline void merge_heap(const PairMap& merges, std::int32_t n, PairMergeScratch& s) {
  using Candidate = PairMergeScratch::Candidate;
  auto later = [](const Candidate& a, const Candidate& b) { return a.rank != b.rank ? a.rank > b.rank : a.left > b.left; };
  s.heap.clear();
  auto push = [&](std::int32_t i) {
    const std::int32_t j = s.next[static_cast<std::size_t>(i)];
    if (j < 0) return;
    const auto v = merges.find(s.id[static_cast<std::size_t>(i)], s.id[static_cast<std::size_t>(j)]);
    if (v.rank < 0) return;
    s.heap.push_back({v.rank, i, s.id[static_cast<std::size_t>(i)], s.id[static_cast<std::size_t>(j)]});
    std::push_heap(s.heap.begin(), s.heap.end(), later);
  };
  for (std::int32_t i = 0; i + 1 < n; ++i) push(i);
  while (!s.heap.empty()) {
    std::pop_heap(s.heap.begin(), s.heap.end(), later);
    const Candidate c = s.heap.back();
    s.heap.pop_back();
    const std::int32_t i = c.left, j = s.next[static_cast<std::size_t>(i)];
    if (s.id[static_cast<std::size_t>(i)] != c.left_id || j < 0 || s.id[static_cast<std::size_t>(j)] != c.right_id ||
        s.prev[static_cast<std::size_t>(i)] == -2)
      continue;
    s.id[static_cast<std::size_t>(i)] = merges.find(c.left_id, c.right_id).merged;
    s.next[static_cast<std::size_t>(i)] = s.next[static_cast<std::size_t>(j)];
    if (s.next[static_cast<std::size_t>(j)] >= 0) s.prev[static_cast<std::size_t>(s.next[static_cast<std::size_t>(j)])] = i;
    s.prev[static_cast<std::size_t>(j)] = -2;  // consumed
    push(i);
    if (s.prev[static_cast<std::size_t>(i)] >= 0) push(s.prev[static_cast<std::size_t>(i)]);
  }
}

// Short runs scan every pair each round; long ones use a heap (same order of merges).
inline void merge_pairs(const PairMap& merges, std::int32_t n, PairMergeScratch& s) {
  if (n <= 48)
    merge_scan(merges, n, s);
  else
    merge_heap(merges, n, s);
}

}  // namespace mmm::detail
