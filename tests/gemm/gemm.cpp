// kernels::gemm against a naive double-precision product: odd shapes, strides, both
// overloads and all transposes, every epilogue combination, residual aliasing C, K split
// into several blocks, 1 and 2 threads, calls from inside a parallel region, and each
// instruction-set path the machine can run.

#include <catch2/catch.hpp>

#include <array>
#include <cstdio>

#include "reference.hpp"

using Index = mmm::index;
using mmm::kernels::Activation;
using mmm::kernels::Epilogue;
using mmm::kernels::PackedWeights;
using mmm::kernels::Trans;
using mmm::test::Matrix;

namespace {

constexpr double tolerance = 2e-6;  // of the term magnitude (see worst_error)
constexpr std::array<Index, 12> odd_sizes{1, 2, 3, 7, 17, 31, 33, 63, 65, 100, 129, 257};

std::mt19937& rng() {
  static std::mt19937 r = [] {
    const unsigned seed = std::random_device{}();
    std::printf("gemm test seed %u\n", seed);
    return std::mt19937(seed);
  }();
  return r;
}

// Runs gemm (packed or plain B) for one shape and epilogue and returns the worst error.
struct Case {
  bool ta = false, tb = false, packed = false;
  Index m = 1, n = 1, k = 1, pad = 0;
  bool bias = false, alpha = false;
  enum class Residual { none, separate, alias } residual = Residual::none;
  Activation activation = Activation::none;
};

double run_case(const Case& t) {
  auto& r = rng();
  Matrix a = t.ta ? Matrix(t.k, t.m, t.pad, r) : Matrix(t.m, t.k, t.pad, r);
  Matrix b = t.tb ? Matrix(t.n, t.k, t.pad, r) : Matrix(t.k, t.n, t.pad, r);
  Matrix c(t.m, t.n, t.pad + 3, r);  // C starts as garbage (or as the residual, when aliased)
  Matrix res(t.m, t.n, 5, r);
  std::vector<float> bias(static_cast<std::size_t>(t.n));
  for (auto& x : bias) x = std::uniform_real_distribution<float>(-2, 2)(r);

  Epilogue ep;
  if (t.alpha) ep.alpha = 0.37f;
  if (t.bias) ep.bias = bias.data();
  ep.activation = t.activation;
  std::vector<float> c_before;
  if (t.residual == Case::Residual::separate) {
    ep.residual = res.data();
    ep.ld_residual = res.ld;
  } else if (t.residual == Case::Residual::alias) {
    ep.residual = c.data();
    ep.ld_residual = c.ld;
    c_before = c.v;
  }
  const auto expected = mmm::test::reference(t.ta, t.tb, t.m, t.n, t.k, a, b, c_before, c.ld, ep);
  const std::vector<float> c_saved = c.v;
  if (t.packed) {
    const PackedWeights w = t.tb ? PackedWeights::from_nk(b.data(), t.n, t.k, b.ld)
                                 : PackedWeights::from_kn(b.data(), t.k, t.n, b.ld);
    REQUIRE(w.n() == t.n);
    REQUIRE(w.k() == t.k);
    mmm::kernels::gemm(t.m, a.data(), a.ld, w, c.data(), c.ld, ep);
  } else {
    mmm::kernels::gemm(t.ta ? Trans::yes : Trans::no, t.tb ? Trans::yes : Trans::no, t.m, t.n, t.k, a.data(), a.ld,
                       b.data(), b.ld, c.data(), c.ld, ep);
  }
  std::string where;
  const double err = mmm::test::worst_error(expected, c.data(), t.m, t.n, c.ld, &where);
  if (err > tolerance)
    FAIL_CHECK("m=" << t.m << " n=" << t.n << " k=" << t.k << " ta=" << t.ta << " tb=" << t.tb
                    << " packed=" << t.packed << " pad=" << t.pad << " act=" << mmm::kernels::name(t.activation)
                    << " worst " << err << " at " << where);
  // Nothing past each row's n columns may be touched: the padding keeps its old value.
  for (Index i = 0; i < t.m; ++i)
    for (Index j = t.n; j < c.ld; ++j) REQUIRE(c.at(i, j) == c_saved[static_cast<std::size_t>(i * c.ld + j)]);
  return err;
}

struct ThreadCount {
  explicit ThreadCount(int n) { mmm::set_num_threads(n); }
  ~ThreadCount() { mmm::set_num_threads(0); }
};

}  // namespace

TEST_CASE("gemm: packed weights (from_nk and from_kn), odd shapes", "[gemm]") {
  for (Index m : odd_sizes)
    for (Index n : odd_sizes)
      for (Index k : odd_sizes) {
        Case t;
        t.packed = true;
        t.m = m, t.n = n, t.k = k;
        t.tb = (m + n + k) % 2 == 0;
        t.pad = (m + k) % 3;
        run_case(t);
      }
}

TEST_CASE("gemm: unpacked operands, all transposes, strides", "[gemm]") {
  for (int trans = 0; trans < 4; ++trans)
    for (Index m : odd_sizes)
      for (Index n : odd_sizes)
        for (Index k : {1, 3, 17, 64, 129, 300}) {
          if (m * n * k > 2'000'000) continue;
          Case t;
          t.ta = trans & 1, t.tb = trans & 2;
          t.m = m, t.n = n, t.k = k;
          t.pad = (m + n) % 4;
          run_case(t);
        }
}

TEST_CASE("gemm: every epilogue combination, residual aliasing C", "[gemm]") {
  const Activation acts[] = {Activation::none, Activation::relu, Activation::gelu, Activation::gelu_tanh,
                             Activation::silu, Activation::sigmoid, Activation::tanh};
  for (bool packed : {false, true})
    for (bool alpha : {false, true})
      for (bool bias : {false, true})
        for (auto residual : {Case::Residual::none, Case::Residual::separate, Case::Residual::alias})
          for (Activation act : acts)
            for (Index n : {5, 33, 70}) {
              Case t;
              t.packed = packed, t.alpha = alpha, t.bias = bias, t.residual = residual, t.activation = act;
              t.m = 19, t.n = n, t.k = 45, t.pad = 2;
              t.tb = packed;
              run_case(t);
            }
}

TEST_CASE("gemm: depth and columns split into several cache blocks", "[gemm]") {
  auto& blk = mmm::kernels::detail::gemm_blocking();
  const auto saved = blk;
  blk.kc = 16;
  blk.nc = 64;
  // 37 rows take the loop for few row panels, 101 the one for many.
  for (Index m : {37, 101})
    for (bool packed : {false, true})
      for (auto residual : {Case::Residual::none, Case::Residual::separate, Case::Residual::alias})
        for (Index k : {0, 15, 16, 17, 100}) {
          Case t;
          t.packed = packed, t.tb = !packed, t.residual = residual;
          t.bias = true, t.alpha = true, t.activation = Activation::gelu;
          t.m = m, t.n = 150, t.k = k, t.pad = 1;
          run_case(t);
        }
  blk = saved;
}

// Shapes above the threading threshold (1e6 multiply-adds), split by columns and by rows.
TEST_CASE("gemm: 1 and 2 threads give the same bits", "[gemm]") {
  auto& r = rng();
  for (auto [m, n, k] : {std::array<Index, 3>{1, 4096, 256}, {3, 1000, 400}, {300, 40, 100}, {300, 300, 300}}) {
    Matrix a(m, k, 0, r), w(n, k, 0, r);
    std::vector<float> bias(static_cast<std::size_t>(n), 0.25f);
    const PackedWeights pw = PackedWeights::from_nk(w.data(), n, k);
    std::vector<float> c1(static_cast<std::size_t>(m * n)), c2(c1.size()), c3(c1.size());
    const Epilogue ep{1.0f, bias.data(), nullptr, 0, Activation::relu};
    {
      ThreadCount one(1);
      REQUIRE(mmm::num_threads() == 1);
      mmm::kernels::gemm(m, a.data(), a.ld, pw, c1.data(), n, ep);
    }
    {
      ThreadCount two(2);
      mmm::kernels::gemm(m, a.data(), a.ld, pw, c2.data(), n, ep);
      mmm::kernels::gemm(Trans::no, Trans::yes, m, n, k, a.data(), a.ld, w.data(), w.ld, c3.data(), n, ep);
    }
    CHECK(c1 == c2);
    CHECK(c1 == c3);
    const auto expected = mmm::test::reference(false, true, m, n, k, a, w, {}, n, ep);
    CHECK(mmm::test::worst_error(expected, c2.data(), m, n, n) < tolerance);
  }
}

// Two threads split the columns and pack A together, each row panel by whichever thread
// gets to it first, one depth block at a time into one buffer: five depth blocks reuse it
// four times, and each thread's columns span two column blocks.
TEST_CASE("gemm: threads sharing packed A over many depth blocks give the same bits", "[gemm]") {
  auto& blk = mmm::kernels::detail::gemm_blocking();
  const auto saved = blk;
  blk.kc = 64;
  blk.nc = 64;
  auto& r = rng();
  constexpr Index MR = mmm::kernels::detail::KernelTraits<mmm::kernels::detail::kernel_arch>::mr;
  for (bool ta : {false, true})
    for (bool packed : {false, true})
      for (Index k : {301, 0}) {
        if (packed && ta) continue;  // the packed overload takes a row-major A
        const Index m = 203, n = 171;
        // Rows 512 floats apart, which the kernel does not read in place.
        Matrix a = ta ? Matrix(k, m, 3, r) : Matrix(m, k, 512 - k, r), b(k, n, 1, r);
        REQUIRE(!mmm::kernels::detail::a_in_place(ta, a.ld, k));
        REQUIRE((m + MR - 1) / MR > mmm::kernels::detail::few_row_panels);
        const PackedWeights pb = PackedWeights::from_kn(b.data(), k, n, b.ld);
        std::vector<float> bias(static_cast<std::size_t>(n), -0.5f), c1(static_cast<std::size_t>(m * n), 1.0f),
            c2(c1);
        const Trans t = ta ? Trans::yes : Trans::no;
        auto run = [&](std::vector<float>& c) {
          const Epilogue ep{0.5f, bias.data(), c.data(), n, Activation::gelu};
          if (packed) {
            mmm::kernels::gemm(m, a.data(), a.ld, pb, c.data(), n, ep);
          } else {
            mmm::kernels::gemm(t, Trans::no, m, n, k, a.data(), a.ld, b.data(), b.ld, c.data(), n, ep);
          }
        };
        {
          ThreadCount one(1);
          run(c1);
        }
        {
          ThreadCount two(2);
          run(c2);
        }
        CHECK(c1 == c2);
        std::vector<float> ones(c1.size(), 1.0f);
        const Epilogue ref_ep{0.5f, bias.data(), ones.data(), n, Activation::gelu};
        const auto expected = mmm::test::reference(ta, false, m, n, k, a, b, {}, n, ref_ep);
        CHECK(mmm::test::worst_error(expected, c2.data(), m, n, n) < tolerance);
      }
  blk = saved;
}

TEST_CASE("gemm: called from inside a parallel region runs on the calling thread", "[gemm]") {
  auto& r = rng();
  const Index m = 65, n = 300, k = 129, calls = 8;
  Matrix a(m, k, 0, r), w(n, k, 0, r);
  const PackedWeights pw = PackedWeights::from_nk(w.data(), n, k);
  std::vector<std::vector<float>> out(calls, std::vector<float>(static_cast<std::size_t>(m * n)));
  std::vector<int> inner_threads(calls, -1);
  ThreadCount two(2);
#if MMM_HAS_OPENMP
#pragma omp parallel for num_threads(2)
#endif
  for (Index i = 0; i < calls; ++i) {
    inner_threads[static_cast<std::size_t>(i)] = mmm::num_threads();
    if (i % 2)
      mmm::kernels::gemm(m, a.data(), a.ld, pw, out[static_cast<std::size_t>(i)].data(), n);
    else
      mmm::kernels::gemm(Trans::no, Trans::yes, m, n, k, a.data(), a.ld, w.data(), w.ld,
                         out[static_cast<std::size_t>(i)].data(), n);
  }
  const auto expected = mmm::test::reference(false, true, m, n, k, a, w, {}, n, {});
  for (Index i = 0; i < calls; ++i) {
#if MMM_HAS_OPENMP
    CHECK(inner_threads[static_cast<std::size_t>(i)] == 1);
#endif
    CHECK(mmm::test::worst_error(expected, out[static_cast<std::size_t>(i)].data(), m, n, n) < tolerance);
  }
}

namespace {
// The driver instantiated for one instruction set, on plain and on packed B.
template <class Arch>
void check_arch(const char* name) {
  using mmm::kernels::detail::gemm_run;
  using mmm::kernels::detail::OperandB;
  using mmm::kernels::detail::PackedPanels;
  using mmm::kernels::detail::ProductEpilogue;
  INFO("arch " << name);
  auto& r = rng();
  for (auto [m, n, k] : {std::array<Index, 3>{1, 1, 1}, {5, 9, 3}, {17, 33, 65}, {31, 100, 129}, {64, 70, 257}}) {
    for (int trans = 0; trans < 4; ++trans) {
      const bool ta = trans & 1, tb = trans & 2;
      Matrix a = ta ? Matrix(k, m, 1, r) : Matrix(m, k, 2, r);
      Matrix b = tb ? Matrix(n, k, 3, r) : Matrix(k, n, 0, r);
      std::vector<float> bias(static_cast<std::size_t>(n), -0.5f);
      Matrix c(m, n, 1, r);
      const std::vector<float> c_before = c.v;
      const Epilogue ep{0.5f, bias.data(), c.data(), c.ld, Activation::tanh};
      const ProductEpilogue pe{ep.alpha, ep.bias, ep.residual, ep.ld_residual, ep.activation};
      const auto expected = mmm::test::reference(ta, tb, m, n, k, a, b, c_before, c.ld, ep);
      OperandB plain;
      plain.plain = b.data(), plain.ldb = b.ld, plain.trans = tb;
      gemm_run<Arch>(m, n, k, ta, a.data(), a.ld, plain, c.data(), c.ld, pe);
      CHECK(mmm::test::worst_error(expected, c.data(), m, n, c.ld) < tolerance);

      c.v = c_before;
      const PackedPanels<Arch> panels(tb, b.data(), k, n, b.ld);
      OperandB packed;
      packed.packed = panels.data();
      gemm_run<Arch>(m, n, k, ta, a.data(), a.ld, packed, c.data(), c.ld, pe);
      CHECK(mmm::test::worst_error(expected, c.data(), m, n, c.ld) < tolerance);

      // One row (gemv): the first row of the same product.
      if (!ta) {
        c.v = c_before;
        mmm::kernels::detail::gemv_panels<Arch>(a.data(), panels.data(), n, k, 0, (n + PackedPanels<Arch>::nr - 1) / PackedPanels<Arch>::nr,
                                               c.data(), pe);
        CHECK(mmm::test::worst_error(expected, c.data(), 1, n, c.ld) < tolerance);
      }
    }
  }
}
}  // namespace

TEST_CASE("gemm: every instruction-set path this machine runs", "[gemm]") {
  const auto cpu = xsimd::available_architectures();
  (void)cpu;
  check_arch<mmm::kernels::detail::scalar_arch>("scalar");
#if XSIMD_WITH_SSE2
  if (cpu.sse2) check_arch<xsimd::sse2>("sse2");
#endif
#if XSIMD_WITH_AVX
  if (cpu.avx) check_arch<xsimd::avx>("avx");
#endif
#if XSIMD_WITH_FMA3_AVX2
  if (cpu.fma3_avx2) check_arch<xsimd::fma3<xsimd::avx2>>("avx2+fma");
#endif
#if XSIMD_WITH_AVX512F
  if (cpu.avx512f) check_arch<xsimd::avx512f>("avx512f");
#endif
#if XSIMD_WITH_NEON64
  check_arch<xsimd::neon64>("neon64");
#endif
}

TEST_CASE("gemm_batched: attention-style products over heads, 1 and 2 threads", "[gemm]") {
  auto& r = rng();
  const Index heads = 5, m = 37, n = 29, k = 16;
  // Q·Kᵀ per head, heads laid out one after another; scaled, with a shared bias and a
  // per-head residual.
  Matrix q(heads * m, k, 0, r), kk(heads * n, k, 0, r), res(heads * m, n, 0, r);
  std::vector<float> bias(static_cast<std::size_t>(n), 0.125f);
  for (int threads : {1, 2}) {
    ThreadCount count(threads);
    Matrix c(heads * m, n, 0, r);
    const Epilogue ep{0.25f, bias.data(), res.data(), n, Activation::none};
    mmm::kernels::gemm_batched(heads, Trans::no, Trans::yes, m, n, k, q.data(), k, kk.data(), k, c.data(), n,
                               {m * k, n * k, m * n, m * n}, ep);
    for (Index h = 0; h < heads; ++h) {
      Matrix qh(m, k, 0, r), kh(n, k, 0, r);
      std::copy_n(q.data() + h * m * k, m * k, qh.data());
      std::copy_n(kk.data() + h * n * k, n * k, kh.data());
      Epilogue eh = ep;
      eh.residual = res.data() + h * m * n;
      const auto expected = mmm::test::reference(false, true, m, n, k, qh, kh, {}, n, eh);
      CHECK(mmm::test::worst_error(expected, c.data() + h * m * n, m, n, n) < tolerance);
    }
  }
}

TEST_CASE("gemv: one row times packed weights, odd sizes, every epilogue, 1 and 2 threads", "[gemm][gemv]") {
  auto& r = rng();
  // Sizes around the panel width (32 floats with AVX-512, 16 with AVX2, 12 with SSE) and
  // the unrolled depth (4), and a head's shape with more than a megabyte of weights
  // (which threads split).
  std::vector<std::array<Index, 2>> shapes;
  for (Index n : odd_sizes)
    for (Index k : odd_sizes) shapes.push_back({n, k});
  shapes.push_back({8000, 256});
  shapes.push_back({1031, 1027});
  for (int threads : {1, 2}) {
    ThreadCount tc(threads);
    for (auto [n, k] : shapes)
      for (int variant = 0; variant < 4; ++variant) {
        INFO("n=" << n << " k=" << k << " threads=" << threads << " variant=" << variant);
        Matrix a(1, k, 0, r), w(n, k, variant % 2, r), c(1, n, 0, r);
        std::vector<float> bias(static_cast<std::size_t>(n));
        for (auto& x : bias) x = std::uniform_real_distribution<float>(-2, 2)(r);
        Epilogue ep;
        if (variant >= 1) ep.bias = bias.data();
        if (variant >= 2) ep.alpha = 0.37f, ep.residual = c.data(), ep.ld_residual = n;  // aliasing y
        if (variant == 3) ep.activation = Activation::gelu;
        const std::vector<float> c_before = c.v;
        const auto expected = mmm::test::reference(false, true, 1, n, k, a, w, variant >= 2 ? c_before : std::vector<float>{}, n, ep);
        const PackedWeights packed = PackedWeights::from_nk(w.data(), n, k, w.ld);
        mmm::kernels::gemv(a.data(), packed, c.data(), ep);
        std::string where;
        const double err = mmm::test::worst_error(expected, c.data(), 1, n, n, &where);
        if (err >= tolerance) FAIL_CHECK("worst " << err << " at " << where);
        // The same bits as the blocked GEMM's one-row tiles (one depth block up to 1024),
        // which kernels::gemm ran for one row before it took this path.
        if (k <= 1024) {
          std::vector<float> g = c_before;
          Epilogue eg = ep;
          if (variant >= 2) eg.residual = g.data();
          mmm::kernels::detail::OperandB bop;
          bop.packed = packed.data();
          mmm::kernels::detail::gemm_run<mmm::kernels::detail::kernel_arch>(1, n, k, false, a.data(), k, bop, g.data(), n,
                                                                           mmm::kernels::detail::product_epilogue(eg));
          bool same = true;
          for (Index j = 0; j < n; ++j) same = same && g[static_cast<std::size_t>(j)] == c.at(0, j);
          CHECK(same);
        }
        // gemm and gemm_columns (here the columns from the last panel boundary on) on one
        // row take this path too: the same values.
        std::vector<float> g(static_cast<std::size_t>(n)), cols(static_cast<std::size_t>(n));
        Epilogue plain = ep;
        plain.residual = nullptr;
        mmm::kernels::gemv(a.data(), packed, c.data(), plain);
        mmm::kernels::gemm(1, a.data(), k, packed, g.data(), n, plain);
        Index first = n - 1;
        while (!packed.splits_at(first)) --first;
        Epilogue shifted = plain;
        if (shifted.bias) shifted.bias += first;
        mmm::kernels::gemm_columns(1, a.data(), k, packed, first, n - first, cols.data(), n, shifted);
        bool same_calls = true;
        for (Index j = 0; j < n; ++j) same_calls = same_calls && g[static_cast<std::size_t>(j)] == c.at(0, j);
        for (Index j = first; j < n; ++j) same_calls = same_calls && cols[static_cast<std::size_t>(j - first)] == c.at(0, j);
        CHECK(same_calls);
      }
  }
}
