#pragma once
// Flat open-addressing hash tables for the tokenizers' hot loops: string → id for
// vocabularies, and (id, id) → (rank, merged id) for BPE merges. One probe sequence over
// one contiguous array, keys stored in one arena: no per-node allocation, no pointer
// chasing, and lookups take a string_view without building a std::string.

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace mmm::detail {

// 64-bit hash of short byte strings: 8 bytes per multiply, then a final mix.
inline std::uint64_t hash_bytes(const char* p, std::size_t n) noexcept {
  constexpr std::uint64_t k = 0x9E3779B97F4A7C15ull;
  std::uint64_t h = 0x243F6A8885A308D3ull ^ (n * k);
  while (n >= 8) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    h = (h ^ w) * k;
    h ^= h >> 29;
    p += 8;
    n -= 8;
  }
  if (n) {
    std::uint64_t w = 0;
    std::memcpy(&w, p, n);
    h = (h ^ w) * k;
  }
  h ^= h >> 32;
  h *= 0xD6E8FEB86659FD93ull;
  h ^= h >> 32;
  return h;
}

inline std::uint64_t mix64(std::uint64_t x) noexcept {
  x ^= x >> 33;
  x *= 0xFF51AFD7ED558CCDull;
  x ^= x >> 33;
  x *= 0xC4CEB9FE1A85EC53ull;
  x ^= x >> 33;
  return x;
}

// string → int32 id. Strings are copied into an arena owned by the table.
class StringIdMap {
 public:
  // Returns false (and changes nothing) when the key is already present.
  bool insert(std::string_view key, std::int32_t id) {
    if ((count_ + 1) * 4 > slots_.size() * 3) grow();
    const std::uint64_t h = hash_bytes(key.data(), key.size());
    std::size_t i = h & mask_;
    while (slots_[i].id >= 0) {
      if (slots_[i].hash == h && view(slots_[i]) == key) return false;
      i = (i + 1) & mask_;
    }
    slots_[i] = {h, static_cast<std::uint32_t>(arena_.size()), static_cast<std::uint32_t>(key.size()), id};
    arena_.append(key);
    ++count_;
    return true;
  }

  // The id, or -1.
  std::int32_t find(std::string_view key) const noexcept {
    if (count_ == 0) return -1;
    const std::uint64_t h = hash_bytes(key.data(), key.size());
    std::size_t i = h & mask_;
    while (slots_[i].id >= 0) {
      if (slots_[i].hash == h && slots_[i].length == key.size() &&
          std::memcmp(arena_.data() + slots_[i].offset, key.data(), key.size()) == 0)
        return slots_[i].id;
      i = (i + 1) & mask_;
    }
    return -1;
  }

  std::size_t size() const noexcept { return count_; }

  // Empties the table, keeping its memory: a table refilled per call allocates only when
  // a call needs more than any before.
  void clear() noexcept {
    if (count_ == 0) return;
    for (Slot& slot : slots_) slot = Slot{};
    arena_.clear();
    count_ = 0;
  }

 private:
  struct Slot {
    std::uint64_t hash = 0;
    std::uint32_t offset = 0, length = 0;
    std::int32_t id = -1;
  };
  std::string_view view(const Slot& s) const noexcept { return {arena_.data() + s.offset, s.length}; }
  void grow() {
    std::vector<Slot> old = std::move(slots_);
    const std::size_t cap = old.empty() ? 64 : old.size() * 2;
    slots_.assign(cap, Slot{});
    mask_ = cap - 1;
    for (const Slot& s : old) {
      if (s.id < 0) continue;
      std::size_t i = s.hash & mask_;
      while (slots_[i].id >= 0) i = (i + 1) & mask_;
      slots_[i] = s;
    }
  }

  std::vector<Slot> slots_;
  std::string arena_;
  std::size_t mask_ = 0, count_ = 0;
};

// (left id, right id) → (rank or score bits, merged id). Keys are non-negative ids.
class PairMap {
 public:
  struct Value {
    std::int32_t rank = -1;
    std::int32_t merged = -1;
  };

  // Keeps the first value inserted for a key.
  void insert(std::int32_t left, std::int32_t right, Value v) {
    if ((count_ + 1) * 2 > slots_.size()) grow();
    const std::uint64_t key = pack(left, right);
    std::size_t i = mix64(key) & mask_;
    while (slots_[i].key != empty) {
      if (slots_[i].key == key) return;
      i = (i + 1) & mask_;
    }
    slots_[i] = {key, v};
    ++count_;
  }

  // The value, or {-1, -1}.
  Value find(std::int32_t left, std::int32_t right) const noexcept {
    if (count_ == 0) return {};
    const std::uint64_t key = pack(left, right);
    std::size_t i = mix64(key) & mask_;
    while (slots_[i].key != empty) {
      if (slots_[i].key == key) return slots_[i].value;
      i = (i + 1) & mask_;
    }
    return {};
  }

  std::size_t size() const noexcept { return count_; }

 private:
  static constexpr std::uint64_t empty = ~0ull;
  static std::uint64_t pack(std::int32_t a, std::int32_t b) noexcept {
    return (std::uint64_t(std::uint32_t(a)) << 32) | std::uint32_t(b);
  }
  struct Slot {
    std::uint64_t key = empty;
    Value value;
  };
  void grow() {
    std::vector<Slot> old = std::move(slots_);
    const std::size_t cap = old.empty() ? 64 : old.size() * 2;
    slots_.assign(cap, Slot{});
    mask_ = cap - 1;
    for (const Slot& s : old) {
      if (s.key == empty) continue;
      std::size_t i = mix64(s.key) & mask_;
      while (slots_[i].key != empty) i = (i + 1) & mask_;
      slots_[i] = s;
    }
  }

  std::vector<Slot> slots_;
  std::size_t mask_ = 0, count_ = 0;
};

}  // namespace mmm::detail
