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
#include <new>

// The replacements pair malloc with free by design; GCC cannot see that once inlined.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace mmm::test {

inline std::atomic<long> allocation_count{0};

// Allocations so far; compare two readings around the code under test.
inline long allocations() { return allocation_count.load(std::memory_order_relaxed); }

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
  if (align <= alignof(std::max_align_t)) return std::malloc(n ? n : 1);
  void* p = nullptr;
  return posix_memalign(&p, align, n ? n : align) == 0 ? p : nullptr;
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
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
