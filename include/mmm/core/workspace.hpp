#pragma once
// Per-call scratch memory. A forward pass takes every intermediate buffer from the
// caller's Workspace instead of the heap, so that a model stays immutable (and shareable
// between threads, each with its own Workspace) and a repeated forward allocates nothing.
//
// It is a bump arena. The first call with a given shape may spill into extra blocks; the
// next reset() merges them into one block of the high-water size, and from then on calls
// of the same (or smaller) shapes touch no allocator. Keeping the block alive matters on
// machines where touching a fresh page is expensive.

#include <cstddef>
#include <vector>

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

  // Uninitialized, 64-byte-aligned room for `count` elements, valid until reset().
  template <class T>
  T* allocate(index count) {
    static_assert(std::is_trivially_copyable_v<T>);
    if (count < 0) throw ShapeError("Workspace: cannot allocate a negative number of elements");
    const std::size_t bytes = round_up(static_cast<std::size_t>(count) * sizeof(T));
    if (blocks_.empty() || blocks_.back().used + bytes > blocks_.back().size) grow(bytes);
    Block& b = blocks_.back();
    std::byte* p = b.memory.get() + b.used;
    b.used += bytes;
    in_use_ += bytes;
    high_water_ = std::max(high_water_, in_use_);
    return reinterpret_cast<T*>(p);
  }

  // Start a new call: everything handed out before is free again (and its views invalid).
  void reset() {
    if (blocks_.size() > 1) {
      blocks_.clear();
      add_block(high_water_);
    }
    if (!blocks_.empty()) blocks_.back().used = 0;
    in_use_ = 0;
  }

  // Make room for at least `bytes` without reallocating later. Frees what is handed out.
  void reserve(std::size_t bytes) {
    if (capacity() >= bytes && blocks_.size() <= 1) return;
    blocks_.clear();
    add_block(round_up(bytes));
    in_use_ = 0;
  }

  std::size_t capacity() const noexcept {
    std::size_t c = 0;
    for (const Block& b : blocks_) c += b.size;
    return c;
  }
  std::size_t high_water() const noexcept { return high_water_; }

  // Marks let a module return its own scratch (taken after the mark) once it is done.
  // Only the most recent allocations can be given back, as on a stack.
  struct Mark {
    std::size_t block, used, in_use;
  };
  Mark mark() const noexcept {
    return blocks_.empty() ? Mark{0, 0, in_use_} : Mark{blocks_.size() - 1, blocks_.back().used, in_use_};
  }
  void release(Mark m) noexcept {
    // Blocks added after the mark stay (they merge at the next reset); only roll back the
    // block the mark was taken in when it is still the current one.
    if (!blocks_.empty() && m.block == blocks_.size() - 1) {
      blocks_.back().used = m.used;
      in_use_ = m.in_use;
    }
  }

 private:
  struct Block {
    AlignedArray<std::byte> memory;
    std::size_t size = 0;
    std::size_t used = 0;
  };

  static std::size_t round_up(std::size_t bytes) {
    return (bytes + tensor_alignment - 1) / tensor_alignment * tensor_alignment;
  }

  void grow(std::size_t at_least) {
    const std::size_t last = blocks_.empty() ? 0 : blocks_.back().size;
    add_block(std::max({at_least, 2 * last, std::size_t{1} << 16}));
  }

  void add_block(std::size_t bytes) {
    Block b;
    b.memory = allocate_aligned<std::byte>(static_cast<index>(bytes));
    b.size = bytes;
    blocks_.push_back(std::move(b));
  }

  std::vector<Block> blocks_;
  std::size_t in_use_ = 0;
  std::size_t high_water_ = 0;
};

}  // namespace mmm
