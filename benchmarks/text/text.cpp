// Tokens per second of mmm's tokenizers over the lines of a few-hundred-KB text prepared
// by prepare.py (directory in $MMM_TEXT_BENCH_DIR). The peers, sentencepiece's native
// encoder on the same models and lines (sentencepiece_peer.py) and npm js-tiktoken on the
// same lines (tiktoken_peer.cjs), run from run.sh.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "mmm/preprocess/text/bpe.hpp"
#include "mmm/preprocess/text/sentencepiece.hpp"
#include "mmm/preprocess/text/tiktoken.hpp"

namespace {

std::string data_dir() {
  const char* d = std::getenv("MMM_TEXT_BENCH_DIR");
  return d ? d : "";
}

const std::vector<std::string>& lines() {
  static const std::vector<std::string> l = [] {
    std::vector<std::string> out;
    std::ifstream in(data_dir() + "/text.txt");
    for (std::string s; std::getline(in, s);) out.push_back(s);
    return out;
  }();
  return l;
}

template <class Tokenizer>
void encode_all(benchmark::State& state, const Tokenizer& tokenizer) {
  std::vector<std::int32_t> ids;
  std::size_t tokens = 0, bytes = 0;
  for (auto _ : state) {
    tokens = 0;
    for (const std::string& line : lines()) {
      tokenizer.encode(line, ids);
      tokens += ids.size();
    }
    benchmark::DoNotOptimize(ids.data());
  }
  for (const std::string& line : lines()) bytes += line.size();
  state.counters["tokens"] = static_cast<double>(tokens);
  state.counters["tokens_per_second"] =
      benchmark::Counter(static_cast<double>(tokens), benchmark::Counter::kIsIterationInvariantRate);
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes));
}

void sentencepiece(benchmark::State& state, const char* model) {
  if (data_dir().empty()) return state.SkipWithError("set MMM_TEXT_BENCH_DIR (benchmarks/text/run.sh does)");
  static std::map<std::string, mmm::SentencePiece> cache;
  auto it = cache.find(model);
  if (it == cache.end()) it = cache.emplace(model, mmm::SentencePiece::load(data_dir() + "/" + model)).first;
  encode_all(state, it->second);
}

void gpt2(benchmark::State& state) {
  if (data_dir().empty()) return state.SkipWithError("set MMM_TEXT_BENCH_DIR (benchmarks/text/run.sh does)");
  static const mmm::ByteLevelBpe bpe = mmm::ByteLevelBpe::load(data_dir() + "/vocab.json", data_dir() + "/merges.txt");
  encode_all(state, bpe);
}

// GPT-4's and GPT-4o's encodings; run.sh writes the rank files from npm js-tiktoken's.
void tiktoken(benchmark::State& state, const char* name) {
  if (data_dir().empty()) return state.SkipWithError("set MMM_TEXT_BENCH_DIR (benchmarks/text/run.sh does)");
  const std::string ranks = data_dir() + "/" + name + ".tiktoken";
  if (!std::ifstream(ranks)) return state.SkipWithError("no rank files (benchmarks/text/run.sh writes them)");
  static std::map<std::string, mmm::Tiktoken> cache;
  auto it = cache.find(name);
  if (it == cache.end())
    it = cache.emplace(name, std::string(name) == "cl100k_base" ? mmm::Tiktoken::cl100k_base(ranks)
                                                                : mmm::Tiktoken::o200k_base(ranks)).first;
  encode_all(state, it->second);
}

}  // namespace

BENCHMARK_CAPTURE(sentencepiece, bpe, "sp_bpe.model")->Name("SentencePieceBpe/mmm")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(sentencepiece, unigram, "sp_unigram.model")->Name("SentencePieceUnigram/mmm")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(gpt2)->Name("Gpt2Bpe/mmm")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(tiktoken, cl100k, "cl100k_base")->Name("TiktokenCl100k/mmm")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(tiktoken, o200k, "o200k_base")->Name("TiktokenO200k/mmm")->Unit(benchmark::kMillisecond)->UseRealTime();

BENCHMARK_MAIN();
