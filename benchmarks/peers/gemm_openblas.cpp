// Peer: OpenBLAS cblas_sgemm on the shapes of benchmarks/gemm/shapes.hpp. scripts/bench.sh
// runs it with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset (set on this machine, they
// make OpenBLAS pick slower kernels), for this process only.

#include <benchmark/benchmark.h>
#include <cblas.h>

#include <vector>

#include "shapes.hpp"

namespace {

void openblas_gemm(benchmark::State& state, mmm::bench::GemmShape s, int threads) {
  const auto a = mmm::bench::filled(s.m * s.k, 1), b = mmm::bench::filled(s.k * s.n, 2);
  std::vector<float> c(static_cast<std::size_t>(s.m * s.n));
  openblas_set_num_threads(threads);
  const auto tb = s.linear ? CblasTrans : CblasNoTrans;  // Linear: B is W[n×k]
  const int ldb = static_cast<int>(s.linear ? s.k : s.n);
  for (auto _ : state) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, tb, static_cast<int>(s.m), static_cast<int>(s.n), static_cast<int>(s.k),
                1.0f, a.data(), static_cast<int>(s.k), b.data(), ldb, 0.0f, c.data(), static_cast<int>(s.n));
    benchmark::ClobberMemory();
  }
  state.counters["FLOPS"] = benchmark::Counter(mmm::bench::gemm_flops(s), benchmark::Counter::kIsIterationInvariantRate);
}

const bool registered = [] {
  for (int t : {1, 2})
    for (const auto& s : mmm::bench::gemm_shapes())
      benchmark::RegisterBenchmark(mmm::bench::gemm_name("openblas", s, t).c_str(), openblas_gemm, s, t)->UseRealTime();
  return true;
}();

}  // namespace

BENCHMARK_MAIN();
