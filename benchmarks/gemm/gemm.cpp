// mmm's GEMM on the shapes of shapes.hpp, the machine's measured FMA peak, and Eigen (a
// peer that needs nothing extra) in the same run. oneDNN and OpenBLAS run the same shapes
// in benchmarks/peers/; scripts/bench.sh puts them side by side.
//
// Counters: FLOPS (rate; GFLOP/s in the report). GEMM rows use the unpacked overload (B is
// packed on every call, as peers' sgemm do); Linear rows use weights packed at load time.

#include <benchmark/benchmark.h>

#include <Eigen/Core>

#include <mmm/kernels/gemm.hpp>

#include "shapes.hpp"

namespace {

using mmm::bench::GemmShape;

void set_flops(benchmark::State& state, double flops) {
  state.counters["FLOPS"] = benchmark::Counter(flops, benchmark::Counter::kIsIterationInvariantRate);
}

// Peak: independent FMA chains (more than latency × pipes), nothing loaded, per thread.
void peak_fma(benchmark::State& state, int threads) {
  using S = mmm::kernels::detail::Simd<mmm::kernels::detail::kernel_arch>;
  using V = S::V;
  constexpr int chains = 24, steps = 1 << 20;  // ~3 ms per region: fork/join is noise
  mmm::set_num_threads(threads);
  for (auto _ : state) {
    mmm::parallel_for(threads, 1, [&](mmm::index b, mmm::index e) {
      for (mmm::index t = b; t < e; ++t) {
        V acc[chains];
        for (int c = 0; c < chains; ++c) acc[c] = S::set1(static_cast<float>(c) * 1e-3f);
        const V x = S::set1(0.999f), y = S::set1(1e-4f);
        for (int s = 0; s < steps; ++s) {
#pragma GCC unroll 24
          for (int c = 0; c < chains; ++c) acc[c] = S::fma(acc[c], x, y);
        }
        V sum = acc[0];
        for (int c = 1; c < chains; ++c) sum = sum + acc[c];
        benchmark::DoNotOptimize(sum);
      }
    });
  }
  set_flops(state, 2.0 * chains * steps * S::width * threads);
  mmm::set_num_threads(0);
}

void mmm_gemm(benchmark::State& state, GemmShape s, int threads) {
  const auto a = mmm::bench::filled(s.m * s.k, 1), b = mmm::bench::filled(s.k * s.n, 2);
  std::vector<float> c(static_cast<std::size_t>(s.m * s.n));
  mmm::set_num_threads(threads);
  if (s.linear) {
    const auto w = mmm::kernels::PackedWeights::from_nk(b.data(), s.n, s.k);
    for (auto _ : state) {
      mmm::kernels::gemm(s.m, a.data(), s.k, w, c.data(), s.n);
      benchmark::ClobberMemory();
    }
  } else {
    for (auto _ : state) {
      mmm::kernels::gemm(mmm::kernels::Trans::no, mmm::kernels::Trans::no, s.m, s.n, s.k, a.data(), s.k, b.data(),
                         s.n, c.data(), s.n);
      benchmark::ClobberMemory();
    }
  }
  set_flops(state, mmm::bench::gemm_flops(s));
  mmm::set_num_threads(0);
}

void eigen_gemm(benchmark::State& state, GemmShape s, int threads) {
  using Mat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  const auto av = mmm::bench::filled(s.m * s.k, 1), bv = mmm::bench::filled(s.k * s.n, 2);
  const Eigen::Map<const Mat> a(av.data(), s.m, s.k);
  Mat c(s.m, s.n);
  Eigen::setNbThreads(threads);
  if (s.linear) {
    const Eigen::Map<const Mat> w(bv.data(), s.n, s.k);
    for (auto _ : state) {
      c.noalias() = a * w.transpose();
      benchmark::ClobberMemory();
    }
  } else {
    const Eigen::Map<const Mat> b(bv.data(), s.k, s.n);
    for (auto _ : state) {
      c.noalias() = a * b;
      benchmark::ClobberMemory();
    }
  }
  set_flops(state, mmm::bench::gemm_flops(s));
  Eigen::setNbThreads(0);
}

const bool registered = [] {
  for (int t : {1, 2}) {
    benchmark::RegisterBenchmark(("Peak/fma/threads:" + std::to_string(t)).c_str(), peak_fma, t)->UseRealTime();
    for (const auto& s : mmm::bench::gemm_shapes()) {
      benchmark::RegisterBenchmark(mmm::bench::gemm_name("mmm", s, t).c_str(), mmm_gemm, s, t)->UseRealTime();
      benchmark::RegisterBenchmark(mmm::bench::gemm_name("eigen", s, t).c_str(), eigen_gemm, s, t)->UseRealTime();
    }
  }
  return true;
}();

}  // namespace

BENCHMARK_MAIN();
