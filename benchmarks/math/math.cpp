// kernels/math.hpp against a plain std:: scalar loop doing the same work, in the same run.
// Element-wise: n floats in, n floats out (n = 4096 stays in L1/L2; 65536 = 256 KiB each
// way, in L2). Row-wise: rows × cols. Items/s counts elements.
//
// The std:: peers (std_scalar.cpp) are compiled without auto-vectorization, so they are
// the scalar baseline the ratios claim; relu/std_autovec is the relu loop vectorized by
// GCC -O3, to show what the compiler alone gets there (relu is memory bound).
//
//   OMP_NUM_THREADS=1 build-<you>/benchmarks/math/bench_math --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true   (one command line)
// and compare the median items_per_second of `<fn>/mmm/<n>` with `<fn>/std/<n>`.

#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include <mmm/kernels/math.hpp>

#include "std_scalar.hpp"

namespace {

using mmm::Index;
namespace k = mmm::kernels;

std::vector<float> inputs(Index n, float lo, float hi) {
  std::mt19937 rng(42);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(static_cast<std::size_t>(n));
  for (auto& x : v) x = d(rng);
  return v;
}

// The std:: peers live in std_scalar.cpp, compiled without auto-vectorization: genuinely
// scalar. relu/std_autovec is the same relu loop left to GCC's -O3 vectorizer here, for
// the record (it is memory bound, as is mmm's relu).
using namespace mmm::bench::scalar;

void relu_autovec(const float* x, float* y, Index n) {
  for (Index i = 0; i < n; ++i) y[i] = x[i] > 0.0f ? x[i] : (x[i] != x[i] ? x[i] : 0.0f);
}

template <void (*Fn)(const float*, float*, Index)>
void elementwise(benchmark::State& state, float lo, float hi) {
  const Index n = state.range(0);
  const std::vector<float> x = inputs(n, lo, hi);
  std::vector<float> y(x.size());
  for (auto _ : state) {
    Fn(x.data(), y.data(), n);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * n);
}

#define MMM_MATH_PAIR(name, lo, hi)                                                              \
  void name##_mmm(benchmark::State& s) { elementwise<k::name>(s, lo, hi); }                      \
  void name##_std(benchmark::State& s) { elementwise<std_##name>(s, lo, hi); }                   \
  BENCHMARK(name##_mmm)->Name(#name "/mmm")->Arg(4096)->Arg(65536);                              \
  BENCHMARK(name##_std)->Name(#name "/std")->Arg(4096)->Arg(65536);

#if XSIMD_WITH_FMA3_AVX2
// The same kernels as an AVX2 machine would run them (mmm_avx2), for the record.
using Avx2 = k::MathKernels<xsimd::fma3<xsimd::avx2>>;
#define MMM_MATH_AVX2(name, lo, hi)                                                            \
  void name##_avx2(benchmark::State& s) { elementwise<Avx2::name>(s, lo, hi); }                \
  BENCHMARK(name##_avx2)->Name(#name "/mmm_avx2")->Arg(4096);
#else
#define MMM_MATH_AVX2(name, lo, hi)
#endif

#define MMM_MATH_ALL(name, lo, hi) MMM_MATH_PAIR(name, lo, hi) MMM_MATH_AVX2(name, lo, hi)

MMM_MATH_ALL(exp, -10.0f, 10.0f)
MMM_MATH_ALL(log, 1e-3f, 1e3f)
MMM_MATH_ALL(tanh, -5.0f, 5.0f)
MMM_MATH_ALL(sigmoid, -10.0f, 10.0f)
MMM_MATH_ALL(erf, -3.0f, 3.0f)
MMM_MATH_ALL(gelu, -5.0f, 5.0f)
MMM_MATH_ALL(gelu_tanh, -5.0f, 5.0f)
MMM_MATH_ALL(silu, -10.0f, 10.0f)
MMM_MATH_PAIR(relu, -1.0f, 1.0f)
void relu_std_autovec(benchmark::State& s) { elementwise<relu_autovec>(s, -1.0f, 1.0f); }
BENCHMARK(relu_std_autovec)->Name("relu/std_autovec")->Arg(4096)->Arg(65536);

void mmm_layer_norm(const float* x, float* y, Index rows, Index cols) {
  k::layer_norm(x, y, rows, cols, nullptr, nullptr, 1e-5f);
}
void mmm_rms_norm(const float* x, float* y, Index rows, Index cols) { k::rms_norm(x, y, rows, cols, nullptr, 1e-5f); }

template <void (*Fn)(const float*, float*, Index, Index)>
void rowwise(benchmark::State& state) {
  const Index rows = state.range(0), cols = state.range(1);
  const std::vector<float> x = inputs(rows * cols, -8.0f, 8.0f);
  std::vector<float> y(x.size());
  for (auto _ : state) {
    Fn(x.data(), y.data(), rows, cols);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * rows * cols);
}

BENCHMARK(rowwise<k::softmax>)->Name("softmax/mmm")->Args({64, 1000})->Args({512, 77});
BENCHMARK(rowwise<std_softmax>)->Name("softmax/std")->Args({64, 1000})->Args({512, 77});
BENCHMARK(rowwise<k::log_softmax>)->Name("log_softmax/mmm")->Args({64, 1000})->Args({512, 77});
BENCHMARK(rowwise<std_log_softmax>)->Name("log_softmax/std")->Args({64, 1000})->Args({512, 77});
BENCHMARK(rowwise<mmm_layer_norm>)->Name("layer_norm/mmm")->Args({64, 1000})->Args({512, 77});
BENCHMARK(rowwise<std_layer_norm>)->Name("layer_norm/std")->Args({64, 1000})->Args({512, 77});
BENCHMARK(rowwise<mmm_rms_norm>)->Name("rms_norm/mmm")->Args({64, 1000})->Args({512, 77});
BENCHMARK(rowwise<std_rms_norm>)->Name("rms_norm/std")->Args({64, 1000})->Args({512, 77});

}  // namespace

BENCHMARK_MAIN();
