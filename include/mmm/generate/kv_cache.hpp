#pragma once
// KVCache: the keys and values a transformer decoder has computed so far, so that the next
// token costs one row per layer instead of the whole prefix. The caller owns it; the model
// makes it to its own sizes (model.make_cache(batch, capacity[, memory_capacity])) and its
// step() appends to it. Everything is allocated at creation: a step, a reorder and a reset
// allocate nothing.
//
// Rows. A cache holds up to max_batch() sequences ("rows"), each with its own length (a
// batch of prompts of different lengths, or beams). batch() rows are in use; a step gives
// exactly one input row for each. reorder() makes row i of the new cache what row
// sources[i] of the old one was, and may change how many rows are in use (beam search:
// prefill one prompt, then reorder({0, 0, 0, 0}) to start four beams from it).
//
// Self-attention keys and values live in pages of page_tokens positions (every layer and
// head of those positions together), and each row is a list of pages. reorder() copies page
// lists, not pages: rows that came from the same row share its pages, and a shared page is
// copied only when a row writes into it — at most the one partly filled page per row and
// step, page_tokens positions instead of the whole history (copy-on-write). capacity()
// positions per row are guaranteed: the pool has max_batch·⌈capacity/page_tokens⌉ pages,
// and sharing only ever needs fewer.
//
// Cross-attention keys and values (an encoder-decoder's memory) are computed once per
// source by the decoder's set_memory(); they never change, and reorder() only re-points
// rows at them.

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "mmm/core/checked.hpp"
#include "mmm/core/errors.hpp"
#include "mmm/core/tensor.hpp"
#include "mmm/kernels/attention.hpp"

namespace mmm {

class KVCache {
  using Layout = kernels::KvPageLayout<>;

 public:
  // Positions per self-attention page: small enough that copy-on-write after a reorder
  // copies little, a multiple of every micro-kernel panel width.
  static constexpr index page_tokens = 32;
  // Positions per cross-attention page (memory is written once, read every step).
  static constexpr index memory_page_tokens = 128;

  // What a model's cache holds per position: `layers` self-attention layers and
  // `memory_layers` cross-attention layers, each with kv_heads heads of head_dim.
  struct Shape {
    index layers = 0;
    index kv_heads = 1;
    index head_dim = 1;
    index memory_layers = 0;
  };

  KVCache() = default;
  KVCache(const Shape& shape, index max_batch, index capacity, index memory_capacity = 0)
      : shape_(shape), max_batch_(max_batch), capacity_(capacity), memory_capacity_(memory_capacity) {
    if (shape.layers < 0 || shape.kv_heads <= 0 || shape.head_dim <= 0 || shape.memory_layers < 0 || max_batch <= 0 ||
        capacity < 0 || memory_capacity < 0)
      throw ShapeError("KVCache: bad sizes (" + std::to_string(shape.layers) + " layers, " +
                       std::to_string(shape.kv_heads) + " heads of " + std::to_string(shape.head_dim) + ", batch " +
                       std::to_string(max_batch) + ", capacity " + std::to_string(capacity) + ")");
    head_floats_ = Layout::head_floats(page_tokens, shape.head_dim);
    page_floats_ = checked_mul(checked_mul(shape.layers, shape.kv_heads, "KVCache"), head_floats_, "KVCache");
    pages_per_row_ = (capacity + page_tokens - 1) / page_tokens;
    const index pool = checked_mul(max_batch, pages_per_row_, "KVCache");
    pages_ = zeroed(checked_mul(pool, page_floats_, "KVCache pages"));
    tables_[0].assign(static_cast<std::size_t>(max_batch * pages_per_row_), 0);
    tables_[1] = tables_[0];
    held_[0].assign(static_cast<std::size_t>(max_batch), 0);
    held_[1] = held_[0];
    lengths_[0].assign(static_cast<std::size_t>(max_batch), 0);
    lengths_[1] = lengths_[0];
    step_end_.assign(static_cast<std::size_t>(max_batch), 0);
    references_.assign(static_cast<std::size_t>(pool), 0);
    free_.resize(static_cast<std::size_t>(pool));

    memory_head_floats_ = Layout::head_floats(memory_page_tokens, shape.head_dim);
    memory_pages_per_row_ = (memory_capacity + memory_page_tokens - 1) / memory_page_tokens;
    memory_row_floats_ = checked_mul(checked_mul(shape.kv_heads, memory_pages_per_row_, "KVCache"), memory_head_floats_,
                                     "KVCache memory");
    memory_ = zeroed(checked_mul(checked_mul(shape.memory_layers, max_batch, "KVCache"), memory_row_floats_, "KVCache memory"));
    memory_tables_[0].assign(static_cast<std::size_t>(max_batch * std::max<index>(memory_pages_per_row_, 1)), 0);
    memory_tables_[1] = memory_tables_[0];
    memory_lengths_[0].assign(static_cast<std::size_t>(max_batch), 0);
    memory_lengths_[1] = memory_lengths_[0];
    reset();
  }

  const Shape& shape() const noexcept { return shape_; }
  index max_batch() const noexcept { return max_batch_; }
  index batch() const noexcept { return batch_; }
  index capacity() const noexcept { return capacity_; }
  index memory_capacity() const noexcept { return memory_capacity_; }
  // Positions cached for `row` (its next token goes at this position).
  index length(index row) const {
    check_row(row, "length");
    return lengths_[current_][static_cast<std::size_t>(row)];
  }
  std::span<const std::int32_t> lengths() const noexcept {
    return {lengths_[current_].data(), static_cast<std::size_t>(batch_)};
  }
  // Source positions the row's cross-attention reads (0 before set_memory).
  index memory_length(index row) const {
    check_row(row, "memory_length");
    return memory_lengths_[current_][static_cast<std::size_t>(row)];
  }
  // Bytes allocated at creation.
  std::size_t bytes() const noexcept {
    return (static_cast<std::size_t>(pages_floats()) + static_cast<std::size_t>(memory_floats())) * sizeof(float);
  }

  // Every row empty, max_batch() rows in use, no memory.
  void reset() noexcept {
    batch_ = max_batch_;
    for (auto& h : held_[current_]) h = 0;
    for (auto& l : lengths_[current_]) l = 0;
    for (auto& l : memory_lengths_[current_]) l = 0;
    std::fill(references_.begin(), references_.end(), 0);
    for (std::size_t i = 0; i < free_.size(); ++i) free_[i] = static_cast<std::int32_t>(free_.size() - 1 - i);
    free_count_ = static_cast<index>(free_.size());
    // Row r reads memory slot r until a reorder says otherwise.
    for (index r = 0; r < max_batch_; ++r)
      for (index i = 0; i < memory_pages_per_row_; ++i)
        memory_tables_[current_][static_cast<std::size_t>(r * memory_pages_per_row_ + i)] =
            static_cast<std::int32_t>(r * shape_.kv_heads * memory_pages_per_row_ + i);
  }

  // Row i becomes what row sources[i] was (beam search); sources.size() rows are in use
  // afterwards. Pages are shared, not copied (see the top of this file).
  void reorder(std::span<const index> sources) {
    const index n = static_cast<index>(sources.size());
    if (n < 1 || n > max_batch_)
      throw RangeError("KVCache::reorder: " + std::to_string(n) + " rows asked for; the cache holds 1 to " +
                       std::to_string(max_batch_));
    for (index i = 0; i < n; ++i)
      if (sources[static_cast<std::size_t>(i)] < 0 || sources[static_cast<std::size_t>(i)] >= batch_)
        throw RangeError("KVCache::reorder: source " + std::to_string(sources[static_cast<std::size_t>(i)]) +
                         " for row " + std::to_string(i) + " is not one of the " + std::to_string(batch_) + " rows in use");
    const int next = 1 - current_;
    for (index i = 0; i < n; ++i) {
      const index from = sources[static_cast<std::size_t>(i)];
      const index held = held_[current_][static_cast<std::size_t>(from)];
      for (index p = 0; p < held; ++p) {
        const std::int32_t page = table(current_, from)[p];
        table(next, i)[p] = page;
        ++references_[static_cast<std::size_t>(page)];
      }
      held_[next][static_cast<std::size_t>(i)] = held;
      lengths_[next][static_cast<std::size_t>(i)] = lengths_[current_][static_cast<std::size_t>(from)];
      memory_lengths_[next][static_cast<std::size_t>(i)] = memory_lengths_[current_][static_cast<std::size_t>(from)];
      std::copy_n(memory_table(current_, from), memory_pages_per_row_, memory_table(next, i));
    }
    for (index r = 0; r < batch_; ++r) release_pages(current_, r, 0);
    current_ = next;
    batch_ = n;
  }

  // Forgets the positions of `row` from `length` on (a rejected draft, a shorter prompt).
  void truncate(index row, index length) {
    check_row(row, "truncate");
    const index now = lengths_[current_][static_cast<std::size_t>(row)];
    if (length < 0 || length > now)
      throw RangeError("KVCache::truncate: row " + std::to_string(row) + " has " + std::to_string(now) +
                       " positions; cannot keep " + std::to_string(length));
    release_pages(current_, row, (length + page_tokens - 1) / page_tokens);
    lengths_[current_][static_cast<std::size_t>(row)] = static_cast<std::int32_t>(length);
  }

  // ---- The step protocol, for decoder modules --------------------------------------------
  //
  // A decoder's step: begin_step() with each row's number of new positions (it checks the
  // capacity, so a step that does not fit changes nothing, and makes every page the step
  // writes the row's own); every attention layer then stores its new keys and values
  // (store) and attends over self_pages(); commit_step() makes the new positions part of
  // the rows. `who` names the module in errors (a function: no string is built unless one
  // is thrown).
  void begin_step(const std::int32_t* counts, index rows, index length, std::string (*who)()) {
    if (rows != batch_)
      throw ShapeError(who() + ": the step has " + std::to_string(rows) + " rows but the cache has " +
                       std::to_string(batch_) + " in use (reorder() changes that)");
    for (index r = 0; r < rows; ++r) {
      const index n = counts ? counts[r] : length;
      const index len = lengths_[current_][static_cast<std::size_t>(r)];
      if (n < 0 || n > length)
        throw RangeError(who() + ": row " + std::to_string(r) + " claims " + std::to_string(n) +
                         " new positions of " + std::to_string(length));
      if (len + n > capacity_)
        throw RangeError(who() + ": row " + std::to_string(r) + " has " + std::to_string(len) +
                         " positions cached and the step adds " + std::to_string(n) + ", past the cache's capacity of " +
                         std::to_string(capacity_) + " (make the cache larger, or truncate it)");
    }
    for (index r = 0; r < rows; ++r) {
      const index len = lengths_[current_][static_cast<std::size_t>(r)];
      const index end = len + (counts ? counts[r] : length);
      step_end_[static_cast<std::size_t>(r)] = static_cast<std::int32_t>(end);
      index& held = held_[current_][static_cast<std::size_t>(r)];
      std::int32_t* row_table = table(current_, r);
      for (index p = len / page_tokens; p * page_tokens < end; ++p) {
        if (p >= held) {
          row_table[p] = take_page();
          held = p + 1;
        } else if (references_[static_cast<std::size_t>(row_table[p])] > 1) {
          const std::int32_t own = take_page();
          copy_positions(row_table[p], own, std::clamp<index>(len - p * page_tokens, 0, page_tokens));
          --references_[static_cast<std::size_t>(row_table[p])];
          row_table[p] = own;
        }
      }
    }
  }
  void commit_step() noexcept {
    for (index r = 0; r < batch_; ++r) lengths_[current_][static_cast<std::size_t>(r)] = step_end_[static_cast<std::size_t>(r)];
  }
  // Per row during a step: positions before it (query offsets), and after it (visible keys).
  const std::int32_t* step_begin() const noexcept { return lengths_[current_].data(); }
  const std::int32_t* step_end() const noexcept { return step_end_.data(); }

  // Where position `pos` of `row` keeps layer `layer`'s keys and values: the page's block for
  // head 0 (head g at + g·head_floats()), and the slot within the page.
  std::pair<float*, index> position(index layer, index row, index pos) {
    const std::int32_t page = table(current_, row)[pos / page_tokens];
    return {pages_.get() + page * page_floats_ + layer * shape_.kv_heads * head_floats_, pos % page_tokens};
  }
  index head_floats() const noexcept { return head_floats_; }

  // The self-attention keys and values of one layer, for kernels::attention.
  kernels::KvPages self_pages(index layer) const noexcept {
    return {pages_.get() + layer * shape_.kv_heads * head_floats_, table(current_, 0), pages_per_row_, page_floats_,
            head_floats_, Layout::value_offset(page_tokens, shape_.head_dim), page_tokens};
  }

  // Cross-attention memory, set by a decoder's set_memory() for every row in use at once:
  // set_memory_row() stores one source's keys and values (rows of kv_heads·head_dim, row
  // strides ldk/ldv) for memory layer `layer` in row `row`'s own slot and points the row at
  // it; memory_length(row) is then `count`. memory_pages() gives a layer's to the kernel.
  void set_memory_row(index layer, index row, const float* k, index ldk, const float* v, index ldv, index count,
                      std::string (*who)()) {
    check_row(row, "set_memory");
    if (count > memory_capacity_)
      throw RangeError(who() + ": the memory has " + std::to_string(count) +
                       " positions but the cache was made for at most " + std::to_string(memory_capacity_));
    if (layer < 0 || layer >= shape_.memory_layers)
      throw RangeError(who() + ": memory layer " + std::to_string(layer) + " of a cache made for " +
                       std::to_string(shape_.memory_layers));
    float* base = memory_.get() + (layer * max_batch_ + row) * memory_row_floats_;
    const index dh = shape_.head_dim;
    for (index g = 0; g < shape_.kv_heads && count > 0; ++g)
      Layout::pack(k + g * dh, ldk, v + g * dh, ldv, count, memory_page_tokens, dh,
                   base + g * memory_pages_per_row_ * memory_head_floats_);
    for (index i = 0; i < memory_pages_per_row_; ++i)
      memory_table(current_, row)[i] = static_cast<std::int32_t>(row * shape_.kv_heads * memory_pages_per_row_ + i);
    memory_lengths_[current_][static_cast<std::size_t>(row)] = static_cast<std::int32_t>(count);
  }
  kernels::KvPages memory_pages(index layer) const noexcept {
    return {memory_.get() + layer * max_batch_ * memory_row_floats_, memory_table(current_, 0),
            std::max<index>(memory_pages_per_row_, 1), memory_head_floats_, memory_pages_per_row_ * memory_head_floats_,
            Layout::value_offset(memory_page_tokens, shape_.head_dim), memory_page_tokens};
  }
  const std::int32_t* memory_lengths() const noexcept { return memory_lengths_[current_].data(); }

 private:
  static AlignedArray<float> zeroed(index count) {
    AlignedArray<float> a = allocate_aligned<float>(count);
    if (count > 0) std::fill_n(a.get(), count, 0.0f);
    return a;
  }
  index pages_floats() const noexcept { return static_cast<index>(references_.size()) * page_floats_; }
  index memory_floats() const noexcept { return shape_.memory_layers * max_batch_ * memory_row_floats_; }

  void check_row(index row, const char* what) const {
    if (row < 0 || row >= batch_)
      throw RangeError("KVCache::" + std::string(what) + ": row " + std::to_string(row) + " is not one of the " +
                       std::to_string(batch_) + " rows in use");
  }
  std::int32_t* table(int which, index row) { return tables_[which].data() + row * pages_per_row_; }
  const std::int32_t* table(int which, index row) const { return tables_[which].data() + row * pages_per_row_; }
  std::int32_t* memory_table(int which, index row) {
    return memory_tables_[which].data() + row * std::max<index>(memory_pages_per_row_, 1);
  }
  const std::int32_t* memory_table(int which, index row) const {
    return memory_tables_[which].data() + row * std::max<index>(memory_pages_per_row_, 1);
  }

  std::int32_t take_page() {
    // The pool covers every row at full capacity and sharing only saves pages, so this
    // cannot run dry; the check guards the invariant.
    if (free_count_ == 0) throw Error("KVCache: no free page (internal invariant broken)");
    const std::int32_t page = free_[static_cast<std::size_t>(--free_count_)];
    references_[static_cast<std::size_t>(page)] = 1;
    return page;
  }
  // Drops the row's pages from index `keep` on.
  void release_pages(int which, index row, index keep) noexcept {
    index& held = held_[which][static_cast<std::size_t>(row)];
    for (index p = keep; p < held; ++p) {
      const std::int32_t page = table(which, row)[p];
      if (--references_[static_cast<std::size_t>(page)] == 0) free_[static_cast<std::size_t>(free_count_++)] = page;
    }
    held = std::min(held, keep);
  }
  // Positions [0, count) of every layer and head, from one page into another.
  void copy_positions(std::int32_t from, std::int32_t to, index count) {
    if (count == 0) return;
    const float* src = pages_.get() + from * page_floats_;
    float* dst = pages_.get() + to * page_floats_;
    for (index h = 0; h < shape_.layers * shape_.kv_heads; ++h)
      Layout::copy_slots(src + h * head_floats_, dst + h * head_floats_, page_tokens, shape_.head_dim, count);
  }

  Shape shape_;
  index max_batch_ = 0, batch_ = 0, capacity_ = 0, memory_capacity_ = 0;
  index head_floats_ = 0, page_floats_ = 0, pages_per_row_ = 0;
  index memory_head_floats_ = 0, memory_pages_per_row_ = 0, memory_row_floats_ = 0;
  AlignedArray<float> pages_, memory_;
  // Two of each per-row array: reorder() builds the new rows in the other one and swaps.
  int current_ = 0;
  std::vector<std::int32_t> tables_[2];
  std::vector<index> held_[2];
  std::vector<std::int32_t> lengths_[2], memory_tables_[2], memory_lengths_[2];
  std::vector<std::int32_t> step_end_, references_, free_;
  index free_count_ = 0;
};

}  // namespace mmm
