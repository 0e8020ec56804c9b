#pragma once
// Checked size arithmetic: the one place where element counts and byte sizes are
// multiplied and added. Every allocation (allocate_aligned, so Tensor, Image and the
// Workspace), every Shape and every size read from a file goes through these, so that a
// size near 2^63 is a typed error naming who asked, never a wrapped product that
// allocates a small block and then writes past it.
//
// `who` names the caller in the message. It is a string, or a callable returning one (a
// lambda around a module's name()), and is only looked at when the check fails, so a
// checked size costs a compare and a branch on the hot path and builds no string.

#include <cstddef>
#include <cstdint>
#include <limits>
#include <new>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

#include "mmm/core/errors.hpp"

namespace mmm {

// No allocation may ask for more: a bound no machine can satisfy, so that a request above
// it is refused by arithmetic, before the allocator is asked and long before a size could
// wrap. Requests below it that the machine cannot satisfy are refused by the allocator and
// reported as the same ResourceError (see allocation_failure below).
inline constexpr std::size_t max_allocation_bytes = std::size_t{1} << 48;  // 256 TiB

namespace detail {

template <class Who>
std::string who_text(const Who& who) {
  if constexpr (std::is_invocable_v<const Who&>)
    return std::string(who());
  else
    return std::string(who);
}

// 1536 → "1.5 KiB": byte counts in messages a person reads.
inline std::string bytes_text(long double bytes) {
  static constexpr const char* units[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  int u = 0;
  while (bytes >= 1024 && u < 6) bytes /= 1024, ++u;
  if (u == 0) return std::to_string(static_cast<unsigned long long>(bytes)) + " bytes";
  std::string s = std::to_string(static_cast<double>(bytes));
  s.resize(s.find('.') + 2);  // one decimal
  return s + " " + units[u];
}

}  // namespace detail

// a · b for non-negative sizes; ShapeError for a negative one, ResourceError when the
// product does not fit in 63 bits.
template <class Who>
std::ptrdiff_t checked_mul(std::ptrdiff_t a, std::ptrdiff_t b, const Who& who) {
  std::ptrdiff_t r;
  if (a < 0 || b < 0) [[unlikely]]
    throw ShapeError(detail::who_text(who) + ": negative size " + std::to_string(a < 0 ? a : b));
  if (__builtin_mul_overflow(a, b, &r)) [[unlikely]]
    throw ResourceError(detail::who_text(who) + ": " + std::to_string(a) + " × " + std::to_string(b) +
                        " elements do not fit in a 64-bit size");
  return r;
}

// a + b for non-negative sizes; ShapeError for a negative one, ResourceError when the sum
// does not fit in 63 bits.
template <class Who>
std::ptrdiff_t checked_add(std::ptrdiff_t a, std::ptrdiff_t b, const Who& who) {
  std::ptrdiff_t r;
  if (a < 0 || b < 0) [[unlikely]]
    throw ShapeError(detail::who_text(who) + ": negative size " + std::to_string(a < 0 ? a : b));
  if (__builtin_add_overflow(a, b, &r)) [[unlikely]]
    throw ResourceError(detail::who_text(who) + ": " + std::to_string(a) + " + " + std::to_string(b) +
                        " does not fit in a 64-bit size");
  return r;
}

// The bytes of `count` elements of `element_size` bytes, rounded up to `align` (a power of
// two): what an allocator is asked for. ResourceError above max_allocation_bytes,
// ShapeError for a negative count.
template <class Who>
std::size_t checked_bytes(std::ptrdiff_t count, std::size_t element_size, std::size_t align, const Who& who) {
  if (count < 0) [[unlikely]]
    throw ShapeError(detail::who_text(who) + ": cannot allocate a negative number of elements (" +
                     std::to_string(count) + ")");
  const auto n = static_cast<std::size_t>(count);
  if (n > (max_allocation_bytes - align) / element_size) [[unlikely]]
    throw ResourceError(detail::who_text(who) + ": " + std::to_string(n) + " elements of " + std::to_string(element_size) +
                        " bytes would need " + detail::bytes_text(static_cast<long double>(n) * element_size) +
                        ", more than the " + detail::bytes_text(max_allocation_bytes) + " any allocation may have");
  return (n * element_size + align - 1) / align * align;
}

// Call from a catch (...) handler at a library boundary (loading a file, decoding, building
// a preprocessing plan, the first forward): an allocation that failed — std::bad_alloc, or
// std::length_error from a container asked for more than it can hold — is rethrown as a
// ResourceError naming `who`; anything else is rethrown unchanged.
template <class Who>
[[noreturn]] void rethrow_allocation_failure(const Who& who) {
  try {
    throw;
  } catch (const std::bad_alloc&) {
    throw ResourceError(detail::who_text(who) + ": out of memory (an allocation failed: std::bad_alloc)");
  } catch (const std::length_error& e) {
    throw ResourceError(detail::who_text(who) + ": a buffer would exceed what a container can hold (" + e.what() + ")");
  }
}

// Runs f(); an allocation failure inside becomes a ResourceError naming `who` (as above).
template <class Who, class F>
decltype(auto) guard_allocations(const Who& who, F&& f) {
  try {
    return std::forward<F>(f)();
  } catch (...) {
    rethrow_allocation_failure(who);
  }
}

}  // namespace mmm
