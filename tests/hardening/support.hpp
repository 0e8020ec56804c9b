#pragma once
// What the hardening tests share: safetensors files from a header text, the text of the
// error an expression throws, and whether this is the AddressSanitizer build.
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace mmm::test {

// Whether this is the AddressSanitizer build. Its allocator aborts on requests above
// 1 TiB instead of failing them, so "the machine refuses a 4 TiB request" can only be
// asked of the real allocator, and it reports signals itself.
#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool under_asan = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool under_asan = true;
#else
inline constexpr bool under_asan = false;
#endif
#else
inline constexpr bool under_asan = false;
#endif

// A safetensors file: the 8-byte length, the header text, the data.
inline std::vector<std::byte> safetensors_bytes(const std::string& header, std::size_t data_bytes = 0) {
  std::vector<std::byte> out(8 + header.size() + data_bytes, std::byte{0});
  const std::uint64_t len = header.size();
  std::memcpy(out.data(), &len, 8);
  std::memcpy(out.data() + 8, header.data(), header.size());
  return out;
}

// The message of the mmm::Error of type E that `f` throws; FAILs if it throws nothing or
// something else.
template <class E, class F>
std::string message_of(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  } catch (const std::exception& e) {
    FAIL("threw the wrong exception type: " << e.what());
  }
  FAIL("threw nothing");
  return {};
}

}  // namespace mmm::test
