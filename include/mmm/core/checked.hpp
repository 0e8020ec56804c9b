#pragma once
// Checked size arithmetic: the one place where element counts and byte sizes are
// multiplied and added. Every allocation and every size read from a file goes through
// these, so that a size near 2^63 is a typed error naming who asked, never a wrapped
// product that allocates a small block and then writes past it.
//
// `what` is only read when the check fails (a string literal or a name built lazily by
// the caller on its error path), so a checked size costs two instructions on the hot path.

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>

#include "mmm/core/errors.hpp"

namespace mmm {

// a · b for non-negative sizes; ResourceError when the product does not fit in 63 bits.
inline std::ptrdiff_t checked_mul(std::ptrdiff_t a, std::ptrdiff_t b, const char* what) {
  std::ptrdiff_t r;
  if (a < 0 || b < 0) throw ShapeError(std::string(what) + ": negative size " + std::to_string(a < 0 ? a : b));
  if (__builtin_mul_overflow(a, b, &r))
    throw ResourceError(std::string(what) + ": " + std::to_string(a) + " × " + std::to_string(b) +
                        " elements do not fit in a 64-bit size");
  return r;
}

// a + b for non-negative sizes; ResourceError when the sum does not fit in 63 bits.
inline std::ptrdiff_t checked_add(std::ptrdiff_t a, std::ptrdiff_t b, const char* what) {
  std::ptrdiff_t r;
  if (a < 0 || b < 0) throw ShapeError(std::string(what) + ": negative size " + std::to_string(a < 0 ? a : b));
  if (__builtin_add_overflow(a, b, &r))
    throw ResourceError(std::string(what) + ": " + std::to_string(a) + " + " + std::to_string(b) +
                        " does not fit in a 64-bit size");
  return r;
}

// The bytes of `count` elements of `element_size` bytes, rounded up to `align` (a power of
// two): what an allocator is asked for. ResourceError when it would exceed
// max_allocation_bytes, a bound no machine can satisfy (so that it is never a bad_alloc
// after a wrapped computation), ShapeError for a negative count.
inline constexpr std::size_t max_allocation_bytes = std::size_t{1} << 48;  // 256 TiB

inline std::size_t checked_bytes(std::ptrdiff_t count, std::size_t element_size, std::size_t align, const char* what) {
  if (count < 0) throw ShapeError(std::string(what) + ": cannot allocate a negative number of elements (" +
                                  std::to_string(count) + ")");
  const auto n = static_cast<std::size_t>(count);
  if (n > (max_allocation_bytes - align) / element_size)
    throw ResourceError(std::string(what) + ": " + std::to_string(n) + " elements of " + std::to_string(element_size) +
                        " bytes would need more than the " + std::to_string(max_allocation_bytes >> 40) +
                        " TiB any allocation may have");
  return (n * element_size + align - 1) / align * align;
}

}  // namespace mmm
