// Linear<1024, 1024> at batch 1 and 64, mmm against the same work in Eigen in this run.
// Counters: GFLOP/s (2·M·N·K per call). Threads: mmm::set_num_threads / Eigen::setNbThreads.
#include <benchmark/benchmark.h>

#include <Eigen/Core>
#include <random>

#include "mmm/pipeline.hpp"

using namespace mmm;

namespace {
constexpr Index in = 1024, out = 1024;

Linear<in, out>& model() {
  static Linear<in, out> linear = [] {
    Linear<in, out> l;
    std::mt19937 rng(1);
    std::normal_distribution<float> dist(0.0f, 0.03f);
    for (Index i = 0; i < l.weight().numel(); ++i) l.weight()[i] = dist(rng);
    for (Index i = 0; i < out; ++i) l.bias()[i] = dist(rng);
    l.prepare();
    return l;
  }();
  return linear;
}

void set_flops(benchmark::State& state, Index batch) {
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * static_cast<double>(batch * in * out), benchmark::Counter::kIsIterationInvariantRate,
                                                benchmark::Counter::kIs1000);
}

void BM_mmm_Linear(benchmark::State& state) {
  const Index batch = state.range(0);
  set_num_threads(static_cast<int>(state.range(1)));
  Tensor x(Shape{batch, in}, 0.5f);
  Workspace ws;
  for (auto _ : state) {
    auto y = model()(Feat<in>(x), ws);
    benchmark::DoNotOptimize(y.data);
  }
  set_flops(state, batch);
  set_num_threads(0);
}

void BM_Eigen_Linear(benchmark::State& state) {
  using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  const Index batch = state.range(0);
  Eigen::setNbThreads(static_cast<int>(state.range(1)));
  const Eigen::Map<const RowMatrix> w(model().weight().data(), out, in);
  const Eigen::Map<const Eigen::RowVectorXf> b(model().bias().data(), out);
  RowMatrix x = RowMatrix::Constant(batch, in, 0.5f), y(batch, out);
  for (auto _ : state) {
    y.noalias() = x * w.transpose();
    y.rowwise() += b;
    benchmark::DoNotOptimize(y.data());
  }
  set_flops(state, batch);
  Eigen::setNbThreads(0);
}
}  // namespace

BENCHMARK(BM_mmm_Linear)->ArgNames({"M", "threads"})->ArgsProduct({{1, 64}, {1, 2}})->UseRealTime();
BENCHMARK(BM_Eigen_Linear)->ArgNames({"M", "threads"})->ArgsProduct({{1, 64}, {1, 2}})->UseRealTime();
BENCHMARK_MAIN();
