// The attention area's benchmarks, named as their ONNX Runtime and libtorch peers report the
// same work (benchmarks/peers/onnx/workloads.json, peer_modules.py); run.sh runs them side by
// side.
//   MHA/mmm/512x8/1xTx512           Attention<512, 8> self-attention on 1×T×512, T = 256, 2048
//   EncoderLayer/mmm/512x8x2048/…   TransformerEncoderLayer<512, 8, 2048> (post-norm, ReLU)
//   DecodeToken/mmm/4x512/cache_512 one token through 4 GPT-2 blocks (512, 8 heads) and a final
//                                   LayerNorm, with 512 positions cached
// Counters: GFLOP/s where the work is FLOP-bound, and scratch_bytes: the Workspace's high
// water (outputs, activations and every kernel's scratch; the KV cache is the caller's and
// not in it: cache_bytes).
#include <benchmark/benchmark.h>

#include <array>
#include <random>

#include "mmm/generate/kv_cache.hpp"
#include "mmm/layers/attention.hpp"
#include "mmm/layers/decoder_block.hpp"
#include "mmm/layers/decoder_stack.hpp"
#include "mmm/layers/transformer.hpp"

using namespace mmm;

namespace {

template <class M>
void randomize(M& m, unsigned seed) {
  std::mt19937 rng(seed);
  m.visit_parameters([&](const std::string& name, Tensor& t) {
    const bool weight = t.rank() > 1;
    std::normal_distribution<float> dist(0.0f, weight ? 1.0f / std::sqrt(static_cast<float>(t.shape().back())) : 0.1f);
    for (Index i = 0; i < t.numel(); ++i) t[i] = name.ends_with("norm1.weight") || name.ends_with("norm2.weight") ? 1.0f : dist(rng);
  }, "");
  m.prepare();
}

Tensor random_input(Shape shape, unsigned seed) {
  Tensor x(shape);
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist;
  for (Index i = 0; i < x.numel(); ++i) x[i] = dist(rng);
  return x;
}

void set_counters(benchmark::State& state, double flops, const Workspace& ws) {
  if (flops > 0) state.counters["FLOPS"] = benchmark::Counter(flops, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["scratch_bytes"] = static_cast<double>(ws.high_water());
}

// MHA(512, 8): projections 4·T·D² multiply-adds, heads 2·T²·D.
void mha(benchmark::State& state, Index T, int threads) {
  static Attention<512, 8> attention;
  static bool ready = (randomize(attention, 1), true);
  (void)ready;
  const Tensor x = random_input(Shape{1, T, 512}, 2);
  set_num_threads(threads);
  Workspace ws;
  // One call before timing, as the peers' harnesses warm up: the first touches the
  // Workspace's fresh pages (~12 µs per 4 KiB page on this VM, ~55 ms for T = 2048's 18 MB),
  // and at T = 2048 on one thread Google Benchmark may time a single iteration.
  benchmark::DoNotOptimize(attention(Seq<512>(x), ws).data);
  for (auto _ : state) benchmark::DoNotOptimize(attention(Seq<512>(x), ws).data);
  set_counters(state, 2.0 * (4.0 * T * 512 * 512 + 2.0 * T * T * 512), ws);
  set_num_threads(0);
}

void encoder_layer(benchmark::State& state, Index T, int threads) {
  static TransformerEncoderLayer<512, 8, 2048> layer;
  static bool ready = (randomize(layer, 3), true);
  (void)ready;
  const Tensor x = random_input(Shape{1, T, 512}, 4);
  set_num_threads(threads);
  Workspace ws;
  benchmark::DoNotOptimize(layer(Seq<512>(x), ws).data);  // warm, as mha()
  for (auto _ : state) benchmark::DoNotOptimize(layer(Seq<512>(x), ws).data);
  set_counters(state, 2.0 * (4.0 * T * 512 * 512 + 2.0 * T * T * 512 + 2.0 * T * 512 * 2048), ws);
  set_num_threads(0);
}

// 4 GPT-2 blocks and a final LayerNorm, the peers' DecoderStep/DecoderPrefix.
struct Decoder {
  std::array<GPT2Block<512, 8>, 4> h;
  LayerNorm<512> ln_f;
  static std::string name() { return "bench Decoder"; }
  Seq<512> step(const Seq<512>& x, KVCache& cache, Workspace& ws) const {
    return detail::step_layers(h, x, cache, ws, &name,
                               [&](const Seq<512>& y, Workspace& w, Workspace::Mark m) { return detail::final_norm(ln_f, y, w, m); });
  }
};

void decode_token(benchmark::State& state, Index cached, int threads) {
  static Decoder decoder;
  static bool ready = [] {
    for (auto& block : decoder.h) randomize(block, 5);
    return true;
  }();
  (void)ready;
  KVCache cache({4, 8, 64, 0}, 1, cached + 1);
  set_num_threads(threads);
  const Tensor prefix = random_input(Shape{1, cached, 512}, 6), token = random_input(Shape{1, 1, 512}, 7);
  {
    Workspace prefill;
    (void)decoder.step(Seq<512>(prefix), cache, prefill);
  }
  Workspace ws;  // a step's own: its high water is one token's
  for (auto _ : state) {
    ws.reset();
    benchmark::DoNotOptimize(decoder.step(Seq<512>(token), cache, ws).data);
    cache.truncate(0, cached);
  }
  set_counters(state, 0, ws);
  state.counters["cache_bytes"] = static_cast<double>(cache.bytes());
  set_num_threads(0);
}

}  // namespace

int main(int argc, char** argv) {
  for (int threads : {1, 2}) {
    const std::string t = "/threads:" + std::to_string(threads);
    for (Index T : {256, 2048})
      benchmark::RegisterBenchmark(("MHA/mmm/512x8/1x" + std::to_string(T) + "x512" + t).c_str(), mha, T, threads)
          ->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark(("EncoderLayer/mmm/512x8x2048/1x256x512" + t).c_str(), encoder_layer, 256, threads)
        ->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark(("DecodeToken/mmm/4x512/cache_512" + t).c_str(), decode_token, 512, threads)
        ->Unit(benchmark::kMicrosecond);
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
}
