// Decoding speed (issue 12): a request of a 64-token prompt and 128 new tokens, greedy and
// beam search of width 4, through generate/'s loops, 1 and 2 threads. Named as the torch
// loops of torch_loops.py report the same work, so RESULTS.md can set them side by side.
//   Greedy/mmm/gpt2_256x4_v8000/threads:N   GPT2<vocab 8000, dim 256, 4 heads, 4 layers>
//                                           (LanguageModelDecoder over a KV cache)
//   Beam4/mmm/gpt2_256x4_v8000/threads:N    the same, beam search width 4 (reorders the cache)
//   Greedy/mmm/lstm_256x2_v8000/threads:N   RecurrentDecoder<8000, 256, LSTM<256, 256, 2 layers>>
//   Beam4/mmm/lstm_256x2_v8000/threads:N
// Counter tokens_per_s: new tokens (128 per request; beams count once) per second, the
// prompt's prefill included.
#include <benchmark/benchmark.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "mmm/generate.hpp"
#include "mmm/pipeline.hpp"

using namespace mmm;

namespace {

constexpr Index prompt_length = 64, new_tokens = 128, vocab = 8000;

using Gpt2 = GPT2<GPT2Config{.vocab = vocab, .positions = 256, .dim = 256, .heads = 4, .layers = 4}>;
using Lstm = generate::RecurrentDecoder<vocab, 256, LSTM<256, 256, Rnn{.layers = 2}>>;

template <class M>
void randomize(M& m, unsigned seed) {
  std::mt19937 rng(seed);
  m.visit_parameters(
      [&](const std::string& name, Tensor& t) {
        const bool weight = t.rank() > 1;
        std::normal_distribution<float> dist(0.0f, weight ? 1.0f / std::sqrt(static_cast<float>(t.shape().back())) : 0.1f);
        const bool norm_weight = name.find("ln_") != std::string::npos && name.ends_with("weight");
        for (Index i = 0; i < t.numel(); ++i) t[i] = norm_weight ? 1.0f : dist(rng);
      },
      "");
  m.prepare();
}

std::vector<std::int32_t> random_prompt() {
  std::mt19937 rng(7);
  std::uniform_int_distribution<std::int32_t> id(0, vocab - 1);
  std::vector<std::int32_t> ids(prompt_length);
  for (auto& i : ids) i = id(rng);
  return ids;
}

const Gpt2& gpt2() {
  static Gpt2 model;
  static bool ready = (randomize(model, 1), true);
  (void)ready;
  return model;
}

const Lstm& lstm() {
  static Lstm model;
  static bool ready = (randomize(model, 2), true);
  (void)ready;
  return model;
}

// One request per iteration: the state reset, the prompt, 128 new tokens (no EOS).
template <class Decoder, class MakeState>
void decode(benchmark::State& bench, const Decoder& decoder, MakeState&& make_state, Index width, int threads) {
  const std::vector<std::int32_t> ids = random_prompt();
  const Tokens prompt(ids.data(), 1, prompt_length);
  set_num_threads(threads);
  auto state = make_state(width);
  Workspace ws;
  const Index max_length = prompt_length + new_tokens;
  for (auto _ : bench) {
    ws.reset();
    state.reset();
    const generate::Hypotheses h =
        width == 1 ? generate::greedy(decoder, state, prompt, {.max_length = max_length}, ws)
                   : generate::beam_search(decoder, state, prompt, {.max_length = max_length, .width = width}, ws);
    if (static_cast<Index>(h.tokens(0).size()) != new_tokens) bench.SkipWithError("fewer tokens than asked for");
    benchmark::DoNotOptimize(h.score(0, 0));
  }
  bench.counters["tokens_per_s"] =
      benchmark::Counter(static_cast<double>(new_tokens), benchmark::Counter::kIsIterationInvariantRate);
  set_num_threads(0);
}

void gpt2_decode(benchmark::State& bench, Index width, int threads) {
  const generate::LanguageModelDecoder<Gpt2> decoder(gpt2());
  decode(bench, decoder, [&](Index rows) { return decoder.make_state(rows, prompt_length + new_tokens); }, width,
         threads);
}

void lstm_decode(benchmark::State& bench, Index width, int threads) {
  decode(bench, lstm(), [&](Index rows) { return lstm().make_state(rows, 0); }, width, threads);
}

}  // namespace

int main(int argc, char** argv) {
  for (const int threads : {1, 2}) {
    const std::string t = "/threads:" + std::to_string(threads);
    for (const Index width : {Index{1}, Index{4}}) {
      const std::string kind = width == 1 ? "Greedy" : "Beam4";
      benchmark::RegisterBenchmark((kind + "/mmm/gpt2_256x4_v8000" + t).c_str(), gpt2_decode, width, threads)
          ->Unit(benchmark::kMillisecond);
      benchmark::RegisterBenchmark((kind + "/mmm/lstm_256x2_v8000" + t).c_str(), lstm_decode, width, threads)
          ->Unit(benchmark::kMillisecond);
    }
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
}
