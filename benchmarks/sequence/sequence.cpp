// Recurrent layers, mmm's side of benchmarks/sequence/RESULTS.md:
//   LSTM/GRU(256→512) over 100 steps at batch 1 and 16, 1 and 2 threads, float32 and bf16
//   weights: rows LSTM/mmm/256x512/T=100/N=1/threads:1 (mmm-bf16 for bf16); ONNX Runtime and
//   libtorch run the same work from benchmarks/peers/onnx/workloads.json (lstm_256x512,
//   gru_256x512), in the same run through benchmarks/sequence/run.sh.
//   The real-time case: LSTM(1→H) or GRU(1→H), then Linear(H→1), fed one sample at a time,
//   H = 8 … 128: rows RealTime/LSTM/mmm/H=32, time per sample.
// Weights are uniform in ±1/√H as torch initialises them; inputs are N(0, 1).
#include <benchmark/benchmark.h>

#include <cmath>
#include <random>

#include "mmm/layers/gru.hpp"
#include "mmm/layers/linear.hpp"
#include "mmm/layers/lstm.hpp"

using namespace mmm;

namespace {

template <class M>
void randomize(M& m, float bound, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-bound, bound);
  m.visit_parameters([&](const std::string&, Tensor& t) {
    for (Index i = 0; i < t.numel(); ++i) t[i] = dist(rng);
  }, "");
  m.prepare();
}

template <class M>
const M& model() {
  static const M m = [] {
    M built;
    randomize(built, 1.0f / std::sqrt(static_cast<float>(M::hidden_size)), 7);
    return built;
  }();
  return m;
}

constexpr Index steps = 100;

// One whole sequence per iteration: model(x) on [N, 100, 256].
template <class M>
void BM_sequence(benchmark::State& state) {
  const Index batch = state.range(0);
  const int threads = static_cast<int>(state.range(1));
  const M& m = model<M>();
  Tensor x(Shape{batch, steps, M::input_size});
  std::mt19937 rng(3);
  std::normal_distribution<float> dist;
  for (Index i = 0; i < x.numel(); ++i) x[i] = dist(rng);
  set_num_threads(threads);
  Workspace ws;
  for (auto _ : state) {
    const auto y = m(Seq<M::input_size>(x.view()), ws);
    benchmark::DoNotOptimize(y.data);
  }
  set_num_threads(0);
  const double macs = static_cast<double>(batch * steps * M::gates * M::hidden_size) *
                      static_cast<double>(M::input_size + M::hidden_size);
  state.counters["GFLOP/s"] = benchmark::Counter(2 * macs, benchmark::Counter::kIsIterationInvariantRate,
                                                 benchmark::Counter::kIs1000);
}

constexpr Rnn bf16{.weights = WeightType::bf16};

// One sample per iteration: the recurrent layer's step, then the Linear on its output.
template <class Layer>
void BM_real_time(benchmark::State& state) {
  constexpr Index H = Layer::hidden_size;
  const Layer& rnn = model<Layer>();
  static const Linear<H, 1> dense = [] {
    Linear<H, 1> d;
    randomize(d, 1.0f / std::sqrt(static_cast<float>(H)), 11);
    return d;
  }();
  typename Layer::State s(1);
  Workspace ws;
  float phase = 0, y = 0;
  for (auto _ : state) {
    const float x = std::sin(phase) + 0.01f * y;  // a signal, and a dependence on the last output
    phase += 0.05f;
    ws.reset();
    y = dense.forward(rnn.step(Feat<1>(&x, 1), s, ws), ws).data[0];
    benchmark::DoNotOptimize(y);
  }
  state.counters["ns/sample"] =
      benchmark::Counter(1e-9, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

}  // namespace

#define MMM_SEQUENCE_BENCHMARK(name, ...)                                                            \
  BENCHMARK_TEMPLATE(BM_sequence, __VA_ARGS__)                                                       \
      ->Name(name)                                                                                   \
      ->ArgNames({"N", "threads"})                                                                   \
      ->ArgsProduct({{1, 16}, {1, 2}})                                                               \
      ->Unit(benchmark::kMillisecond)                                                                \
      ->UseRealTime()

MMM_SEQUENCE_BENCHMARK("LSTM/mmm/256x512/T=100", LSTM<256, 512>);
MMM_SEQUENCE_BENCHMARK("LSTM/mmm-bf16/256x512/T=100", LSTM<256, 512, bf16>);
MMM_SEQUENCE_BENCHMARK("GRU/mmm/256x512/T=100", GRU<256, 512>);
MMM_SEQUENCE_BENCHMARK("GRU/mmm-bf16/256x512/T=100", GRU<256, 512, bf16>);

#define MMM_REAL_TIME_BENCHMARK(name, ...) \
  BENCHMARK_TEMPLATE(BM_real_time, __VA_ARGS__)->Name(name)->Unit(benchmark::kNanosecond)

MMM_REAL_TIME_BENCHMARK("RealTime/LSTM/mmm/H=8", LSTM<1, 8>);
MMM_REAL_TIME_BENCHMARK("RealTime/LSTM/mmm/H=16", LSTM<1, 16>);
MMM_REAL_TIME_BENCHMARK("RealTime/LSTM/mmm/H=32", LSTM<1, 32>);
MMM_REAL_TIME_BENCHMARK("RealTime/LSTM/mmm/H=64", LSTM<1, 64>);
MMM_REAL_TIME_BENCHMARK("RealTime/LSTM/mmm/H=128", LSTM<1, 128>);
MMM_REAL_TIME_BENCHMARK("RealTime/GRU/mmm/H=8", GRU<1, 8>);
MMM_REAL_TIME_BENCHMARK("RealTime/GRU/mmm/H=16", GRU<1, 16>);
MMM_REAL_TIME_BENCHMARK("RealTime/GRU/mmm/H=32", GRU<1, 32>);
MMM_REAL_TIME_BENCHMARK("RealTime/GRU/mmm/H=64", GRU<1, 64>);
MMM_REAL_TIME_BENCHMARK("RealTime/GRU/mmm/H=128", GRU<1, 128>);
MMM_REAL_TIME_BENCHMARK("RealTime/LSTM/mmm-bf16/H=64", LSTM<1, 64, bf16>);
MMM_REAL_TIME_BENCHMARK("RealTime/LSTM/mmm-bf16/H=128", LSTM<1, 128, bf16>);
MMM_REAL_TIME_BENCHMARK("RealTime/GRU/mmm-bf16/H=64", GRU<1, 64, bf16>);
MMM_REAL_TIME_BENCHMARK("RealTime/GRU/mmm-bf16/H=128", GRU<1, 128, bf16>);

BENCHMARK_MAIN();
