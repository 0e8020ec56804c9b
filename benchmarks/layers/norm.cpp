// LayerNorm<512> and RMSNorm<512> over 256 rows (a transformer's activations at T = 256), mmm
// against the same computation written with Eigen in this run (ONNX Runtime and libtorch run
// it too: workload layer_norm_512 in peers/onnx/workloads.json). Counter: GB/s moved (one
// read and one write of the activations).
#include <benchmark/benchmark.h>

#include <Eigen/Core>

#include "mmm/pipeline.hpp"

using namespace mmm;

namespace {
constexpr Index dim = 512, rows = 256;

void set_bytes(benchmark::State& state) {
  state.counters["GB/s"] = benchmark::Counter(2.0 * sizeof(float) * rows * dim, benchmark::Counter::kIsIterationInvariantRate,
                                             benchmark::Counter::kIs1000);
}

template <class Norm>
void BM_mmm(benchmark::State& state) {
  static Norm norm;
  Tensor x(Shape{1, rows, dim});
  for (Index i = 0; i < x.numel(); ++i) x[i] = static_cast<float>(i % 97) * 0.03f - 1.0f;
  Workspace ws;
  for (auto _ : state) {
    auto y = norm(Seq<dim>(x), ws);
    benchmark::DoNotOptimize(y.data);
  }
  set_bytes(state);
}

void BM_Eigen_LayerNorm(benchmark::State& state) {
  using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  RowMatrix x(rows, dim), y(rows, dim);
  for (Index i = 0; i < x.size(); ++i) x.data()[i] = static_cast<float>(i % 97) * 0.03f - 1.0f;
  const Eigen::RowVectorXf gamma = Eigen::RowVectorXf::Ones(dim), beta = Eigen::RowVectorXf::Zero(dim);
  for (auto _ : state) {
    const Eigen::VectorXf mean = x.rowwise().mean();
    y = x.colwise() - mean;
    const Eigen::VectorXf inv = ((y.array().square().rowwise().sum() / dim) + 1e-5f).rsqrt();
    y = (y.array().colwise() * inv.array()).rowwise() * gamma.array();
    y.rowwise() += beta;
    benchmark::DoNotOptimize(y.data());
  }
  set_bytes(state);
}
}  // namespace

BENCHMARK(BM_mmm<LayerNorm<dim>>)->Name("LayerNorm/mmm/256x512");
BENCHMARK(BM_mmm<RMSNorm<dim>>)->Name("RMSNorm/mmm/256x512");
BENCHMARK(BM_Eigen_LayerNorm)->Name("LayerNorm/Eigen/256x512");
BENCHMARK_MAIN();
