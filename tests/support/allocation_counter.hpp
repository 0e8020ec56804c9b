#pragma once
// Counts every allocation the program makes through operator new, so that a test can
// prove a steady-state call allocates nothing. Include it in exactly one translation unit
// of a test executable: it replaces the global operator new and delete.
//
// Every form is replaced, the nothrow ones too (Catch2 uses them): under AddressSanitizer
// a form left to the runtime would pair its allocation with our free() and be reported
// as an alloc-dealloc mismatch.

#include <atomic>
#include <cstdlib>
#include <malloc.h>
#include <new>

// The replacements pair malloc with free by design; GCC cannot see that once inlined.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace mmm::test {

inline std::atomic<long> allocation_count{0};
// Bytes allocated and not yet freed, and the most there has been (malloc_usable_size).
inline std::atomic<long long> live_bytes{0}, peak_bytes{0};

// Allocations so far; compare two readings around the code under test.
inline long allocations() { return allocation_count.load(std::memory_order_relaxed); }

// The most memory `call` holds at once beyond what was live before it: how much a parser
// needs for an input, independent of timing.
template <class F>
long long peak_bytes_during(F&& call) {
  const long long base = live_bytes.load();
  peak_bytes.store(base);
  call();
  return peak_bytes.load() - base;
}

// How many allocations `call` makes when it runs `times` more times.
template <class F>
long allocations_during(F&& call, int times = 10) {
  const long before = allocations();
  for (int i = 0; i < times; ++i) call();
  return allocations() - before;
}

namespace detail {
inline void* counted_alloc(std::size_t n, std::size_t align) noexcept {
  allocation_count.fetch_add(1, std::memory_order_relaxed);
  void* p = nullptr;
  if (align <= alignof(std::max_align_t))
    p = std::malloc(n ? n : 1);
  else if (posix_memalign(&p, align, n ? n : align) != 0)
    p = nullptr;
  if (p) {
    const long long live = live_bytes.fetch_add(static_cast<long long>(malloc_usable_size(p))) +
                           static_cast<long long>(malloc_usable_size(p));
    for (long long peak = peak_bytes.load(); live > peak && !peak_bytes.compare_exchange_weak(peak, live);) {
    }
  }
  return p;
}
inline void counted_free(void* p) noexcept {
  if (p) live_bytes.fetch_sub(static_cast<long long>(malloc_usable_size(p)));
  std::free(p);
}
inline void* counted_or_throw(std::size_t n, std::size_t align) {
  if (void* p = counted_alloc(n, align)) return p;
  throw std::bad_alloc();
}
}  // namespace detail

}  // namespace mmm::test

void* operator new(std::size_t n) { return mmm::test::detail::counted_or_throw(n, 0); }
void* operator new[](std::size_t n) { return mmm::test::detail::counted_or_throw(n, 0); }
void* operator new(std::size_t n, std::align_val_t a) {
  return mmm::test::detail::counted_or_throw(n, static_cast<std::size_t>(a));
}
void* operator new[](std::size_t n, std::align_val_t a) {
  return mmm::test::detail::counted_or_throw(n, static_cast<std::size_t>(a));
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept { return mmm::test::detail::counted_alloc(n, 0); }
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return mmm::test::detail::counted_alloc(n, 0); }
void* operator new(std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return mmm::test::detail::counted_alloc(n, static_cast<std::size_t>(a));
}
void* operator new[](std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return mmm::test::detail::counted_alloc(n, static_cast<std::size_t>(a));
}
void operator delete(void* p) noexcept { mmm::test::detail::counted_free(p); }
void operator delete[](void* p) noexcept { mmm::test::detail::counted_free(p); }
void operator delete(void* p, std::size_t) noexcept { mmm::test::detail::counted_free(p); }
void operator delete[](void* p, std::size_t) noexcept { mmm::test::detail::counted_free(p); }
void operator delete(void* p, std::align_val_t) noexcept { mmm::test::detail::counted_free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { mmm::test::detail::counted_free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { mmm::test::detail::counted_free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { mmm::test::detail::counted_free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { mmm::test::detail::counted_free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { mmm::test::detail::counted_free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { mmm::test::detail::counted_free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { mmm::test::detail::counted_free(p); }
