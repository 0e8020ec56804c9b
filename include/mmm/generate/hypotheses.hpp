#pragma once
// Hypotheses: what a decoding algorithm gives — for each item (a prompt row, an utterance),
// its best sequences, best first, each with its tokens (the generated ones only, not the
// prompt), a score and why it ended. A view into the Workspace the algorithm ran on, like a
// module's output: valid until that Workspace is reset or released past it.
//
//   greedy, sample     one hypothesis per prompt row
//   beam_search        up to n_best per prompt row
//   ctc_greedy         one per utterance; ctc_beam_search up to n_best
//
// score: the natural-log probability the model gives the tokens (greedy and sampling: the sum
// of log_softmax(logits) of each chosen token; CTC: of the labelling); for beam search the
// sum over its length^length_penalty, the quantity beams are ranked by.

#include <cstdint>
#include <span>
#include <string>

#include "mmm/core/checked.hpp"
#include "mmm/core/errors.hpp"
#include "mmm/core/workspace.hpp"

namespace mmm::generate {

enum class Finish : std::uint8_t {
  eos,          // the end-of-sequence token (included in the tokens)
  stop_string,  // the text reached a stop string (the token that completed it is included)
  max_length,   // max_length, or the end of the input (CTC)
};

inline const char* name(Finish f) {
  switch (f) {
    case Finish::eos: return "eos";
    case Finish::stop_string: return "stop_string";
    case Finish::max_length: return "max_length";
  }
  return "?";
}

class Hypotheses {
 public:
  Hypotheses() = default;

  // Room for `per_item` hypotheses of up to `stride` tokens for each of `items`, none yet.
  static Hypotheses allocate(Workspace& ws, index items, index per_item, index stride) {
    Hypotheses h;
    h.items_ = items, h.per_item_ = per_item, h.stride_ = stride;
    const index n = checked_mul(items, per_item, "Hypotheses");
    h.tokens_ = ws.allocate<std::int32_t>(checked_mul(n, stride, "Hypotheses"));
    h.lengths_ = ws.allocate<std::int32_t>(n);
    h.counts_ = ws.allocate<std::int32_t>(items);
    h.scores_ = ws.allocate<float>(n);
    h.finishes_ = ws.allocate<Finish>(n);
    for (index i = 0; i < items; ++i) h.counts_[i] = 0;
    return h;
  }

  index items() const noexcept { return items_; }
  index count(index item) const { return counts_[check_item(item)]; }
  std::span<const std::int32_t> tokens(index item, index rank = 0) const {
    const index at = slot(item, rank);
    return {tokens_ + at * stride_, static_cast<std::size_t>(lengths_[at])};
  }
  float score(index item, index rank = 0) const { return scores_[slot(item, rank)]; }
  Finish finish(index item, index rank = 0) const { return finishes_[slot(item, rank)]; }

  // For the algorithms: write hypothesis `rank` of `item` (ranks filled in order).
  std::int32_t* tokens_of(index item, index rank) noexcept { return tokens_ + (item * per_item_ + rank) * stride_; }
  void set(index item, index rank, index length, float score, Finish finish) noexcept {
    const index at = item * per_item_ + rank;
    lengths_[at] = static_cast<std::int32_t>(length);
    scores_[at] = score;
    finishes_[at] = finish;
    if (counts_[item] <= rank) counts_[item] = static_cast<std::int32_t>(rank + 1);
  }
  index stride() const noexcept { return stride_; }

 private:
  index check_item(index item) const {
    if (item < 0 || item >= items_)
      throw RangeError("Hypotheses: item " + std::to_string(item) + " is outside the " + std::to_string(items_) + " items");
    return item;
  }
  index slot(index item, index rank) const {
    if (rank < 0 || rank >= counts_[check_item(item)])
      throw RangeError("Hypotheses: item " + std::to_string(item) + " has " + std::to_string(counts_[item]) +
                       " hypotheses, rank " + std::to_string(rank) + " asked for");
    return item * per_item_ + rank;
  }

  index items_ = 0, per_item_ = 0, stride_ = 0;
  std::int32_t* tokens_ = nullptr;
  std::int32_t* lengths_ = nullptr;
  std::int32_t* counts_ = nullptr;
  float* scores_ = nullptr;
  Finish* finishes_ = nullptr;
};

}  // namespace mmm::generate
