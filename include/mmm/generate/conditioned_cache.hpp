#pragma once
// The decoder state of a model conditioned once per item and then decoded in several rows per
// item (beam search's beams): a KVCache, and room for the row map that spreads each item's
// conditioning over its rows, so that nothing allocates after the state is made. A
// cross-attention decoder conditions on an image's memory (examples/caption), a decoder-only
// one on a prefill of image and question tokens (examples/assistant): both fill `items` rows
// of the cache once, and condition() gives rows b·k … b·k + k − 1 item b's keys and values
// (k = rows / items) by moving page indices, not copying them.

#include <cstddef>
#include <numeric>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "mmm/core/errors.hpp"
#include "mmm/generate/kv_cache.hpp"

namespace mmm::generate {

class ConditionedCache {
 public:
  ConditionedCache() = default;
  explicit ConditionedCache(KVCache cache) : cache_(std::move(cache)), sources_(static_cast<std::size_t>(cache_.max_batch())) {}

  index rows() const noexcept { return cache_.batch(); }
  index capacity() const noexcept { return cache_.capacity(); }
  // Empties every row and forgets the conditioning: condition() again before decoding.
  void reset() noexcept { cache_.reset(); }
  void reorder(std::span<const index> sources) { cache_.reorder(sources); }
  KVCache& cache() noexcept { return cache_; }
  const KVCache& cache() const noexcept { return cache_; }
  // The cache for a decoder step of `token_rows` rows of tokens, which must be the state's
  // rows; `who()` names the model in the ShapeError.
  KVCache& step_cache(index token_rows, std::string (*who)()) {
    if (token_rows != cache_.batch())
      throw ShapeError(who() + ": " + std::to_string(token_rows) + " rows of tokens for a state of " +
                       std::to_string(cache_.batch()) + " rows");
    return cache_;
  }

  // Empties the state, lets `fill(cache)` condition its first `items` rows (item i in row i:
  // set its memory, or run its prefix through the layers), then spreads each item over its
  // rows/items consecutive rows. `who()` and `what` name the model and its items in the
  // ShapeError when the rows are not a multiple of the items (built only then: conditioning
  // allocates nothing).
  template <class Fill>
  void condition(index items, Fill&& fill, std::string (*who)(), const char* what) {
    const index rows = cache_.max_batch();
    if (items < 1 || rows % items != 0)
      throw ShapeError(who() + ": " + std::to_string(items) + " " + what + " for a state of " + std::to_string(rows) +
                       " rows; the rows must be a multiple of the " + what);
    cache_.reset();
    std::iota(sources_.begin(), sources_.begin() + items, index{0});
    cache_.reorder({sources_.data(), static_cast<std::size_t>(items)});
    std::forward<Fill>(fill)(cache_);
    const index per_item = rows / items;
    for (index r = 0; r < rows; ++r) sources_[static_cast<std::size_t>(r)] = r / per_item;
    cache_.reorder(sources_);
  }

 private:
  KVCache cache_;
  std::vector<index> sources_;
};

}  // namespace mmm::generate
