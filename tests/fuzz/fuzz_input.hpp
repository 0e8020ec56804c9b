#pragma once
// Structured values from a fuzzer's bytes, as LLVM's FuzzedDataProvider does but buildable
// by GCC for the replay tests: integers, picks from a list, floats, and the rest as bytes.
// Sizes come either small (what a real input has, so that buffers can be made for them)
// or from values that no real input has (negative, past every limit), which the library
// must refuse before it reads anything.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <span>
#include <string_view>

namespace mmm::fuzz {

class Input {
 public:
  Input(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}

  std::size_t remaining() const noexcept { return size_ - pos_; }

  std::uint64_t bits(int count) {
    std::uint64_t v = 0;
    for (int i = 0; i < count; i += 8) v = (v << 8) | (pos_ < size_ ? data_[pos_++] : 0);
    return count >= 64 ? v : v & ((std::uint64_t{1} << count) - 1);
  }
  bool flag() { return bits(8) & 1; }
  // In [lo, hi].
  std::int64_t in_range(std::int64_t lo, std::int64_t hi) {
    const auto span = static_cast<std::uint64_t>(hi - lo) + 1;
    return lo + static_cast<std::int64_t>(span == 0 ? bits(64) : bits(32) % span);
  }
  template <class T>
  T pick(std::initializer_list<T> values) {
    return values.begin()[bits(8) % values.size()];
  }
  float number() {
    switch (bits(8) % 8) {
      case 0: return std::numeric_limits<float>::quiet_NaN();
      case 1: return std::numeric_limits<float>::infinity();
      case 2: return -std::numeric_limits<float>::infinity();
      case 3: return 0.0f;
      case 4: return std::numeric_limits<float>::denorm_min();
      case 5: return std::numeric_limits<float>::max();
      default: {
        const auto u = static_cast<std::uint32_t>(bits(32));
        float f;
        std::memcpy(&f, &u, 4);
        return f;
      }
    }
  }
  // A size no real tensor or image has: what the library must refuse.
  std::int64_t impossible_size() {
    return pick<std::int64_t>({-1, -2, -(std::int64_t{1} << 31), std::numeric_limits<std::int64_t>::min(),
                               (std::int64_t{1} << 24) + 1, std::int64_t{1} << 31, std::int64_t{1} << 40,
                               std::int64_t{1} << 62, (std::int64_t{1} << 62) + 1, std::numeric_limits<std::int64_t>::max()});
  }
  // A size that no tensor can have even with no elements (negative, or whose product
  // with any feature size is more than memory holds).
  std::int64_t refused_size() {
    return pick<std::int64_t>({-1, -2, -(std::int64_t{1} << 31), std::numeric_limits<std::int64_t>::min(),
                               std::int64_t{1} << 62, (std::int64_t{1} << 62) + 1, std::numeric_limits<std::int64_t>::max()});
  }
  // Mostly in [0, small]; sometimes impossible.
  std::int64_t size(std::int64_t small) { return bits(8) < 240 ? in_range(0, small) : impossible_size(); }
  // Mostly in [0, small]; sometimes one that must be refused outright. (An empty tensor
  // with a large side, [2^31, 0], is real, and what follows it may legitimately need
  // that many rows: not for a fuzzer with a memory limit.)
  std::int64_t tensor_size(std::int64_t small) { return bits(8) < 240 ? in_range(0, small) : refused_size(); }

  std::span<const std::uint8_t> rest() {
    const std::span<const std::uint8_t> r(data_ + pos_, size_ - pos_);
    pos_ = size_;
    return r;
  }
  std::string_view rest_text() {
    const auto r = rest();
    return {reinterpret_cast<const char*>(r.data()), r.size()};
  }

 private:
  const std::uint8_t* data_;
  std::size_t size_, pos_ = 0;
};

}  // namespace mmm::fuzz
