#pragma once
// Per-call scratch memory. A forward pass takes every intermediate buffer from the
// caller's Workspace instead of the heap, so that a model stays immutable (and shareable
// between threads, each with its own Workspace) and a repeated forward allocates nothing.
//
// The lifetime rule. Memory follows the widest point of a model, not its depth:
//   - an allocation lives until it is released or until reset(), which starts a new call;
//   - a module gives back its own scratch before it returns (mark() before taking it,
//     release(mark) after), so only its output outlives it;
//   - a composition frees what its steps allocated as soon as nothing reads it any more:
//     after each step, release_except(mark, output) frees everything allocated since the
//     composition began that the step's output does not point into. An output that is a
//     view of an earlier buffer (Flatten) keeps that buffer alive; the composition's own
//     input, allocated before its mark, is never its to free. So a Sequential holds two
//     activations and one step's scratch at a time, a Residual keeps its input until the
//     add, and a Parallel keeps each branch's output until the join.
//
// How it works. Allocations are placed first-fit in one virtual address range [0, high
// water), in offsets that depend only on the sequence of requests. That range is served by
// the newest (and largest) block: when a request ends past it, a larger block is added and
// requests from then on go to the new block at the same offsets, while older blocks keep
// the allocations already made in them until reset(). reset() then frees all but the
// newest block, which covers every offset the call used, so the next call with the same
// shapes finds the same offsets in one block and touches no allocator. Keeping the block
// alive matters on machines where touching a fresh page is expensive.

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "mmm/core/checked.hpp"
#include "mmm/core/kinds.hpp"
#include "mmm/core/tensor.hpp"

namespace mmm {

class Workspace {
 public:
  Workspace() = default;
  explicit Workspace(std::size_t reserve_bytes) { reserve(reserve_bytes); }
  Workspace(const Workspace&) = delete;
  Workspace& operator=(const Workspace&) = delete;
  Workspace(Workspace&&) noexcept = default;
  Workspace& operator=(Workspace&&) noexcept = default;

  // Uninitialized, 64-byte-aligned room for `count` elements, valid until it is released
  // or reset(). count == 0 gives a valid pointer to no elements. Given several factors
  // (ws.allocate<float>(rows, Out)), it allocates their product, checked: pass sizes
  // derived from run-time values that way rather than multiplying them first.
  template <class T, std::convertible_to<index>... Factors>
  T* allocate(index count, Factors... factors) {
    static_assert(std::is_trivially_copyable_v<T>);
    ((count = checked_mul(count, static_cast<index>(factors), "Workspace::allocate")), ...);
    const std::size_t bytes = checked_bytes(count, sizeof(T), tensor_alignment, "Workspace::allocate");
    if (bytes == 0) return reinterpret_cast<T*>(empty_);
    return reinterpret_cast<T*>(place(bytes));
  }

  // Start a new call: everything handed out before is free again (and its views invalid).
  void reset() noexcept {
    if (blocks_.size() > 1) blocks_.erase(blocks_.begin(), blocks_.end() - 1);
    live_.clear();
    in_use_ = 0;
  }

  // Make room for at least `bytes` without reallocating later. Frees what is handed out.
  void reserve(std::size_t bytes) {
    reset();
    if (bytes > max_allocation_bytes)
      throw ResourceError("Workspace::reserve: " + std::to_string(bytes) + " bytes is more than any allocation may have");
    if (capacity() < bytes) {
      blocks_.clear();
      add_block((bytes + tensor_alignment - 1) / tensor_alignment * tensor_alignment);
    }
  }

  // Bytes the newest block holds: what a call may use without allocating.
  std::size_t capacity() const noexcept { return blocks_.empty() ? 0 : blocks_.back().size; }
  // The largest extent any call has used so far (bytes from the start of the range).
  std::size_t high_water() const noexcept { return high_water_; }
  // Bytes handed out and not yet released.
  std::size_t in_use() const noexcept { return in_use_; }

  // Everything allocated after a mark can be given back at once, by release(mark), or all
  // of it but what some views still point into, by release_except(mark, views...).
  struct Mark {
    std::uint64_t serial;
  };
  Mark mark() const noexcept { return {next_serial_}; }

  void release(Mark m) noexcept {
    std::erase_if(live_, [&](const Allocation& a) {
      if (a.serial < m.serial) return false;
      in_use_ -= a.bytes;
      return true;
    });
  }

  // Frees every allocation made since `m` that none of `keep` (tensor kinds, or Branches
  // of them) points into: what a composition calls once a step's output exists.
  template <class... Kinds>
  void release_except(Mark m, const Kinds&... keep) noexcept {
    std::erase_if(live_, [&](const Allocation& a) {
      if (a.serial < m.serial) return false;
      bool referenced = false;
      auto check = [&](const void* p) {
        const auto* b = static_cast<const std::byte*>(p);
        referenced = referenced || (b >= a.memory && b < a.memory + a.bytes);
      };
      (visit_buffers(keep, check), ...);
      if (referenced) return false;
      in_use_ -= a.bytes;
      return true;
    });
  }

 private:
  struct Block {
    AlignedArray<std::byte> memory;
    std::size_t size = 0;
  };
  struct Allocation {
    std::size_t offset, bytes;
    std::uint64_t serial;
    std::byte* memory;
  };

  std::byte* place(std::size_t bytes) {
    // First fit among the gaps between live allocations, which are kept by offset.
    std::size_t offset = 0;
    auto at = live_.begin();
    for (; at != live_.end(); ++at) {
      if (at->offset - offset >= bytes) break;
      offset = at->offset + at->bytes;
    }
    const std::size_t end = offset + bytes;
    if (blocks_.empty() || blocks_.back().size < end) {
      const std::size_t last = capacity();
      // Grow by half at least, but not past what any allocation may have: a request that
      // fits must not fail for the slack (add_block still checks `end` itself).
      const std::size_t grown = std::min(std::max(last + last / 2, std::size_t{1} << 16), max_allocation_bytes);
      add_block(std::max(end, grown));
    }
    std::byte* p = blocks_.back().memory.get() + offset;
    live_.insert(at, Allocation{offset, bytes, next_serial_++, p});
    in_use_ += bytes;
    high_water_ = std::max(high_water_, end);
    return p;
  }

  void add_block(std::size_t bytes) {
    Block b;
    b.memory = allocate_aligned<std::byte>(static_cast<index>(bytes), "Workspace");
    b.size = bytes;
    blocks_.push_back(std::move(b));
  }

  std::vector<Block> blocks_;
  std::vector<Allocation> live_;  // by offset
  std::uint64_t next_serial_ = 0;
  std::size_t in_use_ = 0;
  std::size_t high_water_ = 0;
  alignas(tensor_alignment) static inline std::byte empty_[tensor_alignment] = {};
};

}  // namespace mmm
