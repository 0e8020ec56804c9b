// Peer: oneDNN's dnnl_sgemm (row-major) on the shapes of benchmarks/gemm/shapes.hpp.
// oneDNN packs both operands on every call; it is built with OpenMP threads here.

#include <benchmark/benchmark.h>
#include <omp.h>
#include <oneapi/dnnl/dnnl.h>

#include <stdexcept>
#include <vector>

#include "shapes.hpp"

namespace {

void onednn_gemm(benchmark::State& state, mmm::bench::GemmShape s, int threads) {
  const auto a = mmm::bench::filled(s.m * s.k, 1), b = mmm::bench::filled(s.k * s.n, 2);
  std::vector<float> c(static_cast<std::size_t>(s.m * s.n));
  omp_set_num_threads(threads);
  // Linear: B is W[n×k], so C = A·Wᵀ.
  const char tb = s.linear ? 'T' : 'N';
  const auto ldb = s.linear ? s.k : s.n;
  for (auto _ : state) {
    if (dnnl_sgemm('N', tb, s.m, s.n, s.k, 1.0f, a.data(), s.k, b.data(), ldb, 0.0f, c.data(), s.n) != dnnl_success)
      throw std::runtime_error("dnnl_sgemm failed");
    benchmark::ClobberMemory();
  }
  state.counters["FLOPS"] = benchmark::Counter(mmm::bench::gemm_flops(s), benchmark::Counter::kIsIterationInvariantRate);
}

const bool registered = [] {
  for (int t : {1, 2})
    for (const auto& s : mmm::bench::gemm_shapes())
      benchmark::RegisterBenchmark(mmm::bench::gemm_name("onednn", s, t).c_str(), onednn_gemm, s, t)->UseRealTime();
  return true;
}();

}  // namespace

BENCHMARK_MAIN();
