// Convolutions at the shapes of issue 9, at 1 and 2 threads: mmm's Conv2D and Conv1D; the
// same work's rows from ONNX Runtime and libtorch come from peers/onnx/workloads.json
// (conv2d_*, conv1d_*), paired by name in the combined report.
//
// Counter FLOPS: multiply and add counted apart (GFLOP/s in reports).
#include <benchmark/benchmark.h>

#include <cstring>
#include <random>
#include <vector>

#include "mmm/pipeline.hpp"
#include "vision/conv_shapes.hpp"

using namespace mmm;

namespace {

std::vector<float> filled(Index n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, 1.0f);
  std::vector<float> v(static_cast<std::size_t>(n));
  for (auto& x : v) x = d(rng);
  return v;
}

template <class Model>
void fill_weights(Model& m) {
  std::mt19937 rng(1);
  std::normal_distribution<float> d(0.0f, 0.05f);
  m.visit_parameters([&](const std::string&, Tensor& t) {
    for (Index i = 0; i < t.numel(); ++i) t[i] = d(rng);
  }, "");
  m.prepare();
}

// Conv2D over an NCHW map, or Conv1D over s.w frames, time-major (the peers read
// [1, C, T]; the work is the same).
template <class C>
void conv(benchmark::State& state, bench::ConvShape s, int threads) {
  static C module;
  fill_weights(module);
  const auto x = filled(s.batch * s.in * s.h * s.w, 2);
  const auto in = [&] {
    if constexpr (requires { C::output_length(1); }) return Seq<C::in_channels>(x.data(), s.batch, s.w);
    else return Map<C::in_channels>(x.data(), s.batch, s.h, s.w);
  }();
  Workspace ws;
  set_num_threads(threads);
  for (auto _ : state) {
    const auto y = module(in, ws);
    benchmark::DoNotOptimize(y.data);
  }
  set_num_threads(0);
  state.counters["FLOPS"] = benchmark::Counter(bench::flops(s), benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace bench;
  for (int t : {1, 2}) {
    benchmark::RegisterBenchmark(name("mmm", conv3x3_64, t).c_str(), conv<Conv2D<64, 64, Conv{.kernel = 3, .pad = 1}>>,
                                 conv3x3_64, t)->UseRealTime();
    benchmark::RegisterBenchmark(name("mmm", conv1x1_256_64, t).c_str(), conv<Conv2D<256, 64>>, conv1x1_256_64, t)
        ->UseRealTime();
    benchmark::RegisterBenchmark(name("mmm", depthwise3x3_256, t).c_str(),
                                 conv<Conv2D<256, 256, Conv{.kernel = 3, .pad = 1, .groups = 256}>>, depthwise3x3_256, t)
        ->UseRealTime();
    benchmark::RegisterBenchmark(name("mmm", conv3x3s2_128_256, t).c_str(),
                                 conv<Conv2D<128, 256, Conv{.kernel = 3, .stride = 2, .pad = 1}>>, conv3x3s2_128_256, t)
        ->UseRealTime();
    benchmark::RegisterBenchmark(name("mmm", conv1d_80_384, t).c_str(), conv<Conv1D<80, 384, Conv{.kernel = 3, .pad = 1}>>,
                                 conv1d_80_384, t)->UseRealTime();
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
}
