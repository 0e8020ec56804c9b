// Steady-state gemm allocates nothing: after a first call of each kind has sized the
// thread-local scratch, repeated calls (packed and plain B, all transposes, 1 and 2
// threads, small and large shapes) must not reach operator new.

#include <catch2/catch.hpp>

#include <atomic>
#include <cstdlib>
#include <new>
#include <vector>

#include <mmm/kernels/gemm.hpp>

// The replacements pair malloc with free by design; GCC cannot see that once inlined.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace {
std::atomic<long> allocations{0};
}

void* operator new(std::size_t n) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return ::operator new(n); }
void* operator new(std::size_t n, std::align_val_t al) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  const std::size_t a = static_cast<std::size_t>(al);
  if (void* p = std::aligned_alloc(a, (n + a - 1) / a * a)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n, std::align_val_t al) { return ::operator new(n, al); }
// The nothrow forms too (Catch2 uses them): otherwise a sanitizer's operator new would pair
// with the free() below.
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(n ? n : 1);
}
void* operator new[](std::size_t n, const std::nothrow_t& t) noexcept { return ::operator new(n, t); }
void* operator new(std::size_t n, std::align_val_t al, const std::nothrow_t&) noexcept {
  allocations.fetch_add(1, std::memory_order_relaxed);
  const std::size_t a = static_cast<std::size_t>(al);
  return std::aligned_alloc(a, (n + a - 1) / a * a);
}
void* operator new[](std::size_t n, std::align_val_t al, const std::nothrow_t& t) noexcept {
  return ::operator new(n, al, t);
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

using Index = mmm::index;
using mmm::kernels::Activation;
using mmm::kernels::Trans;

TEST_CASE("gemm: no allocation per call after the first", "[gemm]") {
  struct Shape {
    Index m, n, k;
  };
  const Shape shapes[] = {{1, 4096, 1024}, {16, 4096, 1024}, {64, 512, 300}, {300, 257, 129}, {7, 9, 5}};
  std::vector<float> a(64 * 4096 + 300 * 300, 0.5f), w(4096 * 1024, 0.25f), c(300 * 4096, 0.0f), bias(4096, 1.0f);
  std::vector<mmm::kernels::PackedWeights> packed;
  for (const auto& s : shapes) packed.push_back(mmm::kernels::PackedWeights::from_nk(w.data(), s.n, s.k));

  auto run_all = [&] {
    for (std::size_t i = 0; i < std::size(shapes); ++i) {
      const auto [m, n, k] = shapes[i];
      const mmm::kernels::Epilogue ep{1.0f, bias.data(), c.data(), n, Activation::gelu};
      mmm::kernels::gemm(m, a.data(), k, packed[i], c.data(), n, ep);
      for (int t = 0; t < 4; ++t)
        mmm::kernels::gemm(t & 1 ? Trans::yes : Trans::no, t & 2 ? Trans::yes : Trans::no, m, n, k, a.data(),
                           t & 1 ? m : k, w.data(), t & 2 ? k : n, c.data(), n, ep);
    }
    // Attention over 8 heads: scores Q·Kᵀ, then scores·V.
    mmm::kernels::gemm_batched(8, Trans::no, Trans::yes, 77, 77, 64, a.data(), 64, w.data(), 64, c.data(), 77,
                               {77 * 64, 77 * 64, 77 * 77, 0}, {0.125f});
    mmm::kernels::gemm_batched(8, Trans::no, Trans::no, 77, 64, 77, c.data(), 77, w.data(), 64, a.data(), 64,
                               {77 * 77, 77 * 64, 77 * 64, 0});
  };
  for (int threads : {1, 2}) {
    mmm::set_num_threads(threads);
    run_all();  // sizes the scratch of every thread
    const long before = allocations.load();
    for (int rep = 0; rep < 3; ++rep) run_all();
    CHECK(allocations.load() - before == 0);
  }
  mmm::set_num_threads(0);
}
