// The decoder-only models against tools/reference (oracle: decoding_oracle.py); incremental
// decoding with a KVCache against the full causal forward — prompts of different lengths,
// beam-search reorders (shared pages, copy-on-write), reset, truncate; its errors; and no
// allocation per generated token or steady-state forward.
#include <catch2/catch.hpp>

#include <numeric>
#include <vector>

#include "mmm/layers/transformer.hpp"
#include "mmm/models/gpt2.hpp"
#include "mmm/models/llama.hpp"
#include "parity.hpp"
#include "support/allocation_counter.hpp"
#include "support/oracle.hpp"
#include "support/random_model.hpp"

using namespace mmm;
using test::OracleCase;
using test::require_parity;

namespace {
constexpr Index T = 37;
using SmallGPT2 = GPT2<GPT2Config{.vocab = 97, .positions = 64, .dim = 72, .heads = 6, .layers = 2}>;
using SmallLlama = Llama<LlamaConfig{.vocab = 101, .dim = 72, .heads = 6, .kv_heads = 2, .hidden = 120, .layers = 2,
                                     .max_positions = 128}>;

template <class M>
const M& loaded(const char* name) {
  static M m;
  OracleCase c(name);
  c.load_model(m);
  return m;
}

std::vector<std::int32_t> ints(const IntTensor& t) { return {t.span().begin(), t.span().end()}; }

// The logits of one row's whole sequence by the full forward: [length, V].
template <class M>
Tensor full_logits(const M& m, const std::vector<std::int32_t>& tokens) {
  Workspace ws;
  const auto y = m(Tokens(tokens.data(), 1, static_cast<Index>(tokens.size())), ws);
  return y.to_tensor().reshape(Shape{y.length, M::vocab_size});
}

// Row `row` of a step's output (positions [0, n)) as [n, V].
template <Index V>
Tensor step_rows(const Seq<V>& y, Index row, Index n) {
  Tensor t(Shape{n, V});
  std::copy_n(y.data + row * y.length * V, n * V, t.data());
  return t;
}

Tensor rows_of(const Tensor& logits, Index first, Index n) {
  const Index V = logits.dim(1);
  Tensor t(Shape{n, V});
  std::copy_n(logits.data() + first * V, n * V, t.data());
  return t;
}

// Full forward against the oracle, then prompts of different lengths and one token per step
// against the full forward of each row's sequence.
template <class M>
void check_model(const char* name) {
  const M& m = loaded<M>(name);
  OracleCase c(name);
  const IntTensor tokens = c.int_input("tokens");
  const auto lengths = ints(c.int_input("lengths"));
  Workspace ws;
  require_parity(m(Tokens(tokens.data(), 3, T, lengths.data()), ws).to_tensor(), c.output("logits"),
                 std::string(name) + " full forward, padded batch");

  const std::int32_t prompts[3] = {5, 12, 1};
  KVCache cache = m.make_cache(3, T);
  std::vector<std::vector<float>> got(3);
  std::vector<std::int32_t> prompt(3 * 12, 0);
  for (Index b = 0; b < 3; ++b) std::copy_n(tokens.data() + b * T, prompts[b], prompt.data() + b * 12);
  const auto first = m.step(Tokens(prompt.data(), 3, 12, prompts), cache, ws);
  for (Index b = 0; b < 3; ++b) {
    CHECK(cache.length(b) == prompts[b]);
    const Tensor rows = step_rows(first, b, prompts[b]);
    got[b].assign(rows.data(), rows.data() + rows.numel());
  }
  for (Index s = 0; s < T - 12; ++s) {
    std::int32_t next[3];
    for (Index b = 0; b < 3; ++b) next[b] = tokens[b * T + prompts[b] + s];
    const auto y = m.step_last(Tokens(next, 3, 1), cache, ws);
    for (Index b = 0; b < 3; ++b) got[b].insert(got[b].end(), y.data + b * M::vocab_size, y.data + (b + 1) * M::vocab_size);
  }
  const Tensor oracle = c.output("logits");
  for (Index b = 0; b < 3; ++b) {
    const Index n = prompts[b] + T - 12;
    CHECK(cache.length(b) == n);
    const Tensor steps = Tensor::copy_of(TensorView<const float>(got[b].data(), Shape{n, M::vocab_size}));
    std::vector<std::int32_t> row(tokens.data() + b * T, tokens.data() + b * T + n);
    require_parity(steps, full_logits(m, row), std::string(name) + " row " + std::to_string(b) + ": steps = full forward");
    const Index valid = std::min<Index>(n, lengths[static_cast<std::size_t>(b)]);  // torch's positions past the padding differ
    Tensor torch_rows(Shape{valid, M::vocab_size});
    std::copy_n(oracle.data() + b * T * M::vocab_size, valid * M::vocab_size, torch_rows.data());
    require_parity(rows_of(steps, 0, valid), torch_rows, std::string(name) + " row " + std::to_string(b) + ": steps = torch");
  }
}
}  // namespace

TEST_CASE("GPT-2 and LLaMA style models match the reference, step by step too", "[decoding][parity]") {
  check_model<SmallGPT2>("gpt2");
  check_model<SmallLlama>("llama");
}

TEST_CASE("KVCache follows beams: reorder shares pages, a write copies only the last one", "[decoding]") {
  static SmallLlama m;
  test::fill_random(m, 11, 0.1f);
  std::vector<std::int32_t> prompt(40);
  for (std::size_t i = 0; i < prompt.size(); ++i) prompt[i] = static_cast<std::int32_t>((i * 7 + 3) % 101);
  KVCache cache = m.make_cache(4, 80);
  Workspace ws;
  // One prompt (rows 1–3 unused), then four beams from it.
  cache.reorder(std::vector<Index>{0});
  (void)m.step(Tokens(prompt.data(), 1, 40), cache, ws);
  cache.reorder(std::vector<Index>{0, 0, 0, 0});
  std::vector<std::vector<std::int32_t>> beams(4, prompt);
  auto advance = [&](int steps) {
    for (int s = 0; s < steps; ++s) {
      std::int32_t next[4];
      for (Index b = 0; b < 4; ++b) beams[b].push_back(next[b] = static_cast<std::int32_t>((17 * s + 29 * b + 5) % 101));
      const Feat<101> y = m.step_last(Tokens(next, 4, 1), cache, ws);
      for (Index b = 0; b < 4; ++b) {
        const Tensor want = full_logits(m, beams[b]);
        Tensor got(Shape{1, 101});
        std::copy_n(y.data + b * 101, 101, got.data());
        require_parity(got, rows_of(want, want.dim(0) - 1, 1),
                       "beam " + std::to_string(b) + " at position " + std::to_string(beams[b].size() - 1));
      }
    }
  };
  advance(3);
  const std::vector<Index> order{2, 0, 0, 3};  // beam 1 dropped, beam 0 duplicated
  cache.reorder(order);
  const auto old = beams;
  for (Index b = 0; b < 4; ++b) beams[b] = old[static_cast<std::size_t>(order[b])];
  for (Index b = 0; b < 4; ++b) CHECK(cache.length(b) == 43);
  advance(30);  // across a page boundary (pages of 32 positions)
  // Fewer beams; then back to one prompt, as a fresh cache would.
  cache.reorder(std::vector<Index>{3, 1});
  CHECK(cache.batch() == 2);
  cache.reset();
  CHECK(cache.batch() == 4);
  CHECK(cache.length(3) == 0);
}

TEST_CASE("KVCache: capacity, truncate and the errors of a step", "[decoding][errors]") {
  static SmallGPT2 m;
  test::fill_random(m, 12, 0.1f);
  KVCache cache = m.make_cache(2, 10);
  Workspace ws;
  std::vector<std::int32_t> tokens(2 * 8, 3);
  (void)m.step(Tokens(tokens.data(), 2, 8), cache, ws);
  try {
    (void)m.step(Tokens(tokens.data(), 2, 3), cache, ws);
    FAIL("no error past the capacity");
  } catch (const RangeError& e) {
    INFO(e.what());
    CHECK(std::string(e.what()).find("GPT2<vocab 97, positions 64, dim 72, heads 6, layers 2>: row 0 has 8 positions "
                                     "cached and the step adds 3, past the cache's capacity of 10") != std::string::npos);
  }
  CHECK(cache.length(0) == 8);  // a step that does not fit changes nothing
  (void)m.step(Tokens(tokens.data(), 2, 2), cache, ws);
  CHECK(cache.length(1) == 10);
  cache.truncate(1, 4);
  CHECK(cache.length(1) == 4);
  CHECK_THROWS_AS(cache.truncate(1, 5), RangeError);
  std::vector<std::int32_t> three(3, 1);
  try {
    (void)m.step(Tokens(three.data(), 3, 1), cache, ws);
    FAIL("no error for 3 rows in a cache of 2");
  } catch (const ShapeError& e) {
    CHECK(std::string(e.what()).find("the step has 3 rows but the cache has 2 in use") != std::string::npos);
  }
  try {
    cache.reorder(std::vector<Index>{0, 2});
    FAIL("no error for a source row that is not in use");
  } catch (const RangeError& e) {
    CHECK(std::string(e.what()).find("KVCache::reorder: source 2 for row 1 is not one of the 2 rows in use") !=
          std::string::npos);
  }
  // Learned positions end before a large cache does.
  KVCache big = m.make_cache(1, 100);
  std::vector<std::int32_t> long_prompt(64, 1);
  (void)m.step(Tokens(long_prompt.data(), 1, 64), big, ws);
  try {
    (void)m.step(Tokens(long_prompt.data(), 1, 1), big, ws);
    FAIL("no error past the learned positions");
  } catch (const RangeError& e) {
    CHECK(std::string(e.what()).find("LearnedPositions<64, 72>: item 0 reaches position 64, past the 64 positions") !=
          std::string::npos);
  }
  CHECK(big.length(0) == 64);
}

TEST_CASE("no allocation per generated token, per reorder or per steady-state forward", "[decoding][allocations]") {
  static SmallLlama llama;
  test::fill_random(llama, 13, 0.1f);
  static SmallGPT2 gpt2;
  test::fill_random(gpt2, 14, 0.1f);
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    DYNAMIC_SECTION(threads << " thread(s)") {
      for (int model = 0; model < 2; ++model) {
        KVCache cache = model ? gpt2.make_cache(3, 60) : llama.make_cache(3, 60);
        Workspace ws;
        std::vector<std::int32_t> prompt(3 * 9, 4);
        const std::int32_t lengths[3] = {9, 2, 5};
        std::int32_t next[3] = {1, 2, 3};
        auto token = [&] {
          if (model)
            (void)gpt2.step_last(Tokens(next, 3, 1), cache, ws);
          else
            (void)llama.step_last(Tokens(next, 3, 1), cache, ws);
        };
        if (model)
          (void)gpt2.step(Tokens(prompt.data(), 3, 9, lengths), cache, ws);
        else
          (void)llama.step(Tokens(prompt.data(), 3, 9, lengths), cache, ws);
        token();
        token();  // the Workspace has its size
        CHECK(test::allocations_during(token, 20) == 0);
        const std::vector<Index> order{1, 1, 0};
        CHECK(test::allocations_during([&] { cache.reorder(order); }, 5) == 0);
        CHECK(test::allocations_during(token, 5) == 0);  // copy-on-write included
      }
      // Full forwards: an encoder layer and a decoder stack, after two calls.
      static TransformerEncoderLayer<72, 6, 100, Layer{.norm_first = true}> encoder;
      static TransformerDecoder<TransformerDecoderLayer<72, 6, 100, Layer{.causal = true}>, 2> decoder;
      test::fill_random(encoder, 15, 0.1f);
      test::fill_random(decoder, 16, 0.1f);
      Tensor x(Shape{3, 37, 72}, 0.1f), memory(Shape{3, 53, 72}, 0.2f);
      const std::int32_t lengths[3] = {37, 20, 3};
      Workspace ws;
      auto encode = [&] { (void)encoder(Seq<72>(x, lengths), ws); };
      encode();
      encode();
      CHECK(test::allocations_during(encode, 5) == 0);
      auto decode = [&] { (void)decoder(Branches<Seq<72>, Seq<72>>(Seq<72>(x), Seq<72>(memory, lengths)), ws); };
      decode();
      decode();
      CHECK(test::allocations_during(decode, 5) == 0);
      // An encoder-decoder's steps, with the memory set once.
      KVCache cache = decoder.make_cache(3, 40, 53);
      Workspace step_ws;
      decoder.set_memory(Seq<72>(memory, lengths), cache, step_ws);
      Tensor one(Shape{3, 1, 72}, 0.3f);
      auto step = [&] {
        step_ws.reset();
        (void)decoder.step(Seq<72>(one), cache, step_ws);
      };
      step();
      step();
      CHECK(test::allocations_during(step, 10) == 0);
    }
  }
  set_num_threads(0);
}

TEST_CASE("a token whose products split runs on a standing team: same logits, no allocation", "[decoding][allocations]") {
  // At D = 256 the MLP's products stream a megabyte of weights each, so a one-row step takes a
  // team of threads (team_threads); the small models above step on one thread.
  static GPT2<GPT2Config{.vocab = 61, .positions = 32, .dim = 256, .heads = 4, .layers = 1}> wide;
  test::fill_random(wide, 17, 0.05f);
  const std::vector<std::int32_t> prompt{3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  const std::int32_t lengths[2] = {5, 2};
  std::int32_t next[2] = {1, 2};
  std::vector<std::vector<float>> logits;  // after the prompt and three tokens, 1 then 2 threads
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    KVCache cache = wide.make_cache(2, 30);
    Workspace ws;
    (void)wide.step(Tokens(prompt.data(), 2, 5, lengths), cache, ws);
    Feat<61> last = wide.step_last(Tokens(next, 2, 1), cache, ws);
    last = wide.step_last(Tokens(next, 2, 1), cache, ws);
    last = wide.step_last(Tokens(next, 2, 1), cache, ws);
    logits.emplace_back(last.data, last.data + 2 * 61);
    auto token = [&] { (void)wide.step_last(Tokens(next, 2, 1), cache, ws); };
    CHECK(test::allocations_during(token, 10) == 0);
  }
  set_num_threads(0);
  // Each thread takes whole columns of every product and whole heads: the same sums.
  for (std::size_t i = 0; i < logits[0].size(); ++i) REQUIRE(logits[1][i] == logits[0][i]);
}
