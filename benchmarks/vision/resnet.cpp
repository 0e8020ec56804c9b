// ResNet-50 inference (torchvision's resnet50, eval) on N×3×224×224 at 1 and 2 threads; ONNX
// Runtime and libtorch run the same model (workload resnet50 in peers/onnx/workloads.json,
// rows ResNet50/ort/… and ResNet50/libtorch/…). Counter: GFLOP/s at 4.09 GFLOP (multiply-adds
// ×2) per image.
//
// ResNet50_rest/mmm/… times what is not a convolution, on the shapes ResNet-50 gives it: the
// max pool (64×112×112), the average pool (2048×7×7) and the classifier (2048 → 1000). BatchNorm,
// ReLU and the residual adds run inside the convolutions' epilogues, so the convolutions' share
// is the whole minus this.
#include <benchmark/benchmark.h>

#include "mmm/pipeline.hpp"
#include "resnet_weights.hpp"

using namespace mmm;

namespace {
constexpr double gflop_per_image = 2 * 4.089;  // torchvision's 4.09 G multiply-adds

ResNet50& resnet50() {
  static ResNet50 net = [] {
    ResNet50 n;
    bench::init_like_torchvision(n);
    return n;
  }();
  return net;
}

Tensor image(Index batch, Index size) {
  Tensor x(Shape{batch, 3, size, size});
  for (Index i = 0; i < x.numel(); ++i) x[i] = static_cast<float>(i % 251) / 125.0f - 1.0f;
  return x;
}

void BM_ResNet50(benchmark::State& state, Index batch) {
  set_num_threads(static_cast<int>(state.range(0)));
  const Tensor x = image(batch, 224);
  const ResNet50& net = resnet50();
  Workspace ws;
  for (auto _ : state) {
    auto y = net(Map<3>(x), ws);
    benchmark::DoNotOptimize(y.data);
  }
  state.counters["GFLOP/s"] = benchmark::Counter(gflop_per_image * 1e9 * static_cast<double>(batch),
                                                benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
  set_num_threads(0);
}

void BM_ResNet50_rest(benchmark::State& state, Index batch) {
  set_num_threads(static_cast<int>(state.range(0)));
  static Linear<2048, 1000> fc = [] {
    Linear<2048, 1000> l;
    bench::init_like_torchvision(l);
    return l;
  }();
  const MaxPool2D<Pool{.kernel = 3, .stride = 2, .padding = 1}> maxpool;
  const GlobalAvgPool avgpool;
  Tensor stem(Shape{batch, 64, 112, 112}, 0.5f), last(Shape{batch, 2048, 7, 7}, 0.5f);
  for (Index i = 0; i < stem.numel(); ++i) stem[i] = static_cast<float>(i % 97) * 0.01f;
  Workspace ws;
  for (auto _ : state) {
    ws.reset();
    auto a = maxpool.forward(Map<64>(stem), ws);
    auto b = fc.forward(avgpool.forward(Map<2048>(last), ws), ws);
    benchmark::DoNotOptimize(a.data);
    benchmark::DoNotOptimize(b.data);
  }
  set_num_threads(0);
}
}  // namespace

BENCHMARK_CAPTURE(BM_ResNet50, 1, 1)->Name("ResNet50/mmm/1x3x224x224")->ArgName("threads")->Arg(1)->Arg(2)
    ->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_ResNet50, 8, 8)->Name("ResNet50/mmm/8x3x224x224")->ArgName("threads")->Arg(1)->Arg(2)
    ->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_ResNet50_rest, 1, 1)->Name("ResNet50_rest/mmm/1x3x224x224")->ArgName("threads")->Arg(1)->Arg(2)
    ->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_ResNet50_rest, 8, 8)->Name("ResNet50_rest/mmm/8x3x224x224")->ArgName("threads")->Arg(1)->Arg(2)
    ->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK_MAIN();
