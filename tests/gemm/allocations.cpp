// Steady-state gemm allocates nothing: after a first call of each kind has sized the
// thread-local scratch, repeated calls (packed and plain B, all transposes, 1 and 2
// threads, small and large shapes) must not reach operator new.

#include <catch2/catch.hpp>

#include <atomic>
#include <cstdlib>
#include <new>
#include <vector>

#include <mmm/kernels/gemm.hpp>

#include "support/allocation_counter.hpp"

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
    const long before = mmm::test::allocations();
    for (int rep = 0; rep < 3; ++rep) run_all();
    CHECK(mmm::test::allocations() - before == 0);
  }
  mmm::set_num_threads(0);
}
