// generate/ without PyTorch: the generator against pcg-c-basic's published output, the
// errors bad requests raise, stop strings across token boundaries, streaming, the semantics
// of the decoder-step interface (a continued state, reset, reorder) and how the algorithms
// relate (top-k 1 and beam width 1 are greedy).
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "generate/decoders.hpp"
#include "mmm/pipeline.hpp"
#include "support/random_model.hpp"

using namespace mmm;
using namespace mmm::generate;
using Catch::Matchers::Contains;

namespace {

// A decoder that can be followed by hand: it strongly prefers the token after the row's last
// one (mod V), a little the one after that; its state is each row's last token.
template <Index V>
struct CountingDecoder {
  static constexpr Index vocab_size = V;
  float nan_at_position = -1;  // gives NaN logits once a row has this many positions

  struct State {
    std::vector<std::int32_t> last;
    std::vector<Index> positions;
    std::vector<std::int32_t> spare_last;
    std::vector<Index> spare_positions;
    Index rows() const { return static_cast<Index>(last.size()); }
    void reset() {
      std::fill(last.begin(), last.end(), 0);
      std::fill(positions.begin(), positions.end(), 0);
    }
    void reorder(std::span<const Index> sources) {
      for (std::size_t r = 0; r < last.size(); ++r) {
        spare_last[r] = last[static_cast<std::size_t>(sources[r])];
        spare_positions[r] = positions[static_cast<std::size_t>(sources[r])];
      }
      std::swap(last, spare_last);
      std::swap(positions, spare_positions);
    }
  };
  State make_state(Index rows, Index) const {
    const auto n = static_cast<std::size_t>(rows);
    return {std::vector<std::int32_t>(n), std::vector<Index>(n), std::vector<std::int32_t>(n), std::vector<Index>(n)};
  }
  Feat<V> step(const Tokens& t, State& s, Workspace& ws) const {
    float* z = ws.allocate<float>(t.batch * V);
    for (Index r = 0; r < t.batch; ++r) {
      const auto row = static_cast<std::size_t>(r);
      s.last[row] = t.ids[r * t.length + t.valid_length(r) - 1];
      s.positions[row] += t.valid_length(r);
      for (Index c = 0; c < V; ++c) z[r * V + c] = 0.0f;
      z[r * V + (s.last[row] + 1) % V] = 4.0f;
      z[r * V + (s.last[row] + 2) % V] = 1.0f;
      if (nan_at_position >= 0 && s.positions[row] >= nan_at_position) z[r * V] = std::nanf("");
    }
    return {z, t.batch};
  }
};
static_assert(StepDecoder<CountingDecoder<5>>);
static_assert(StepDecoder<test::ElmanDecoder<7, 3, 4>>);
static_assert(!StepDecoder<Linear<3, 4>>);

std::vector<std::int32_t> as_vector(std::span<const std::int32_t> s) { return {s.begin(), s.end()}; }

std::vector<std::vector<std::int32_t>> best_of_each(const Hypotheses& h) {
  std::vector<std::vector<std::int32_t>> out;
  for (Index r = 0; r < h.items(); ++r) out.push_back(as_vector(h.tokens(r)));
  return out;
}

}  // namespace

TEST_CASE("Pcg32 gives pcg-c-basic's published output, and uniform draws in [0, 1)") {
  Pcg32 rng(42, 54);  // pcg32-demo's seed and stream: its first round of 32-bit outputs
  const std::vector<std::uint32_t> expected{0xa15c02b7, 0x7b47f409, 0xba1d3330, 0x83d2f293, 0xbfa4784b, 0xcbed606e};
  for (std::uint32_t e : expected) CHECK(rng.next() == e);
  Pcg32 a(7), b(7), c(8);
  double lowest = 1, highest = 0, mean = 0;
  bool differ = false;
  for (int i = 0; i < 10000; ++i) {
    const double u = a.uniform();
    CHECK(u == b.uniform());
    differ = differ || u != c.uniform();
    lowest = std::min(lowest, u), highest = std::max(highest, u), mean += u / 10000;
  }
  CHECK(differ);
  CHECK(lowest >= 0.0);
  CHECK(highest < 1.0);
  CHECK(mean == Approx(0.5).margin(0.02));
}

TEST_CASE("greedy follows the decoder, ends at EOS or max_length, and streams each token") {
  CountingDecoder<9> decoder;
  const std::vector<std::int32_t> ids{3, 0, 0, /* row 1 */ 1, 4, 6};
  const std::vector<std::int32_t> lengths{1, 3};
  const Tokens prompt(ids.data(), 2, 3, lengths.data());
  auto state = decoder.make_state(2, 16);
  std::vector<std::pair<Index, std::int32_t>> streamed;
  GreedyOptions options{.max_length = 8, .eos = 2};
  options.stream.on_token = [&](Index row, std::int32_t t) { streamed.emplace_back(row, t); };
  Workspace ws;
  const Hypotheses h = greedy(decoder, state, prompt, options, ws);
  // Row 0 counts 4, 5, 6, 7, 8, 0, 1 (max_length 8 − 1 prompt token); row 1 from 6: 7, 8, 0, 1, 2 = EOS.
  CHECK(as_vector(h.tokens(0)) == std::vector<std::int32_t>{4, 5, 6, 7, 8, 0, 1});
  CHECK(h.finish(0) == Finish::max_length);
  CHECK(as_vector(h.tokens(1)) == std::vector<std::int32_t>{7, 8, 0, 1, 2});
  CHECK(h.finish(1) == Finish::eos);
  // log softmax of the preferred logit: 4 − log(e^4 + e^1 + 7).
  const double step = 4.0 - std::log(std::exp(4.0) + std::exp(1.0) + 7.0);
  CHECK(h.score(0) == Approx(7 * step).epsilon(1e-5));
  CHECK(h.score(1) == Approx(5 * step).epsilon(1e-5));
  // Streamed as chosen: both rows per step, row order, until each ends.
  REQUIRE(streamed.size() == 12);
  CHECK(streamed[0] == std::pair<Index, std::int32_t>{0, 4});
  CHECK(streamed[1] == std::pair<Index, std::int32_t>{1, 7});
  CHECK(streamed[9] == std::pair<Index, std::int32_t>{1, 2});
  CHECK(streamed[10] == std::pair<Index, std::int32_t>{0, 0});
  REQUIRE_THROWS_AS(h.tokens(2), RangeError);
  REQUIRE_THROWS_AS(h.tokens(0, 1), RangeError);
}

TEST_CASE("bad requests are clear errors") {
  CountingDecoder<9> decoder;
  const std::vector<std::int32_t> ids{3, 4, 5, 6};
  const Tokens prompt(ids.data(), 2, 2);
  auto state = decoder.make_state(2, 16);
  auto wide = decoder.make_state(8, 16);
  Workspace ws;

  SECTION("an empty prompt") {
    REQUIRE_THROWS_AS(greedy(decoder, state, Tokens(ids.data(), 2, 0), {.max_length = 5}, ws), ShapeError);
    REQUIRE_THROWS_WITH(greedy(decoder, state, Tokens(ids.data(), 2, 0), {.max_length = 5}, ws), Contains("prompt is empty"));
    const std::vector<std::int32_t> lengths{2, 0};
    REQUIRE_THROWS_WITH(sample(decoder, state, Tokens(ids.data(), 2, 2, lengths.data()), {.max_length = 5}, ws),
                        Contains("generate::sample") && Contains("row 1 has 0 tokens"));
    REQUIRE_THROWS_AS(beam_search(decoder, wide, Tokens(ids.data(), 2, 2, lengths.data()), {.max_length = 5}, ws), ShapeError);
  }
  SECTION("a max length below the prompt, or leaving no room after it") {
    REQUIRE_THROWS_AS(greedy(decoder, state, prompt, {.max_length = 1}, ws), RangeError);
    REQUIRE_THROWS_WITH(greedy(decoder, state, prompt, {.max_length = 2}, ws),
                        Contains("max_length 2") && Contains("row 0's 2-token prompt"));
    REQUIRE_THROWS_WITH(beam_search(decoder, wide, prompt, {.max_length = 1, .width = 4}, ws), Contains("max_length 1"));
    REQUIRE_THROWS_WITH(sample(decoder, state, prompt, {.max_length = 0}, ws), Contains("max_length 0"));
  }
  SECTION("beam width 0, n_best outside [1, width], a length penalty that is not finite") {
    REQUIRE_THROWS_AS(beam_search(decoder, wide, prompt, {.max_length = 5, .width = 0}, ws), RangeError);
    REQUIRE_THROWS_WITH(beam_search(decoder, wide, prompt, {.max_length = 5, .width = 0}, ws),
                        Contains("beam width must be at least 1, got 0"));
    REQUIRE_THROWS_WITH(beam_search(decoder, wide, prompt, {.max_length = 5, .width = 4, .n_best = 5}, ws),
                        Contains("n_best must be in [1, width = 4], got 5"));
    REQUIRE_THROWS_AS(beam_search(decoder, wide, prompt, {.max_length = 5, .width = 4, .n_best = 0}, ws), RangeError);
    REQUIRE_THROWS_AS(
        beam_search(decoder, wide, prompt, {.max_length = 5, .length_penalty = std::numeric_limits<float>::infinity()}, ws),
        RangeError);
  }
  SECTION("top-p outside (0, 1], and other sampling options out of range") {
    for (float p : {0.0f, -0.5f, 1.5f, std::nanf("")}) {
      REQUIRE_THROWS_AS(sample(decoder, state, prompt, {.max_length = 5, .top_p = p}, ws), RangeError);
      REQUIRE_THROWS_WITH(sample(decoder, state, prompt, {.max_length = 5, .top_p = p}, ws), Contains("top_p must be in (0, 1]"));
    }
    REQUIRE_THROWS_WITH(sample(decoder, state, prompt, {.max_length = 5, .temperature = 0}, ws),
                        Contains("temperature must be positive"));
    REQUIRE_THROWS_WITH(sample(decoder, state, prompt, {.max_length = 5, .top_k = -1}, ws), Contains("top_k"));
    REQUIRE_THROWS_WITH(greedy(decoder, state, prompt, {.max_length = 5, .repetition_penalty = 0}, ws),
                        Contains("repetition penalty must be positive"));
  }
  SECTION("ids outside the vocabulary, and a state that does not fit") {
    REQUIRE_THROWS_WITH(greedy(decoder, state, prompt, {.max_length = 5, .eos = 9}, ws), Contains("eos 9"));
    const std::vector<std::int32_t> bad{3, 9};
    REQUIRE_THROWS_WITH(greedy(decoder, state, Tokens(bad.data(), 1, 2), {.max_length = 5}, ws),
                        Contains("prompt token 9 at row 0, position 1"));
    REQUIRE_THROWS_WITH(greedy(decoder, wide, prompt, {.max_length = 5}, ws),
                        Contains("state has 8 rows, this needs 2"));
    REQUIRE_THROWS_WITH(beam_search(decoder, state, prompt, {.max_length = 5, .width = 3}, ws),
                        Contains("state has 2 rows, this needs 6"));
    test::ElmanDecoder<9, 3, 4> elman;
    test::fill_random(elman, 1, 0.5f);
    auto small = elman.make_state(2, 4);
    REQUIRE_THROWS_AS(greedy(elman, small, prompt, {.max_length = 6}, ws), ResourceError);
    REQUIRE_THROWS_WITH(greedy(elman, small, prompt, {.max_length = 6}, ws), Contains("holds 4 positions"));
  }
  SECTION("stop strings without a way to read tokens, or empty") {
    GreedyOptions o{.max_length = 5};
    o.stream.stop_strings = {"ab"};
    REQUIRE_THROWS_WITH(greedy(decoder, state, prompt, o, ws), Contains("stop strings need token_text"));
    o.stream.stop_strings = {""};
    o.stream.token_text = [](std::int32_t) { return std::string_view("x"); };
    REQUIRE_THROWS_WITH(greedy(decoder, state, prompt, o, ws), Contains("empty stop string"));
  }
  SECTION("NaN logits") {
    CountingDecoder<9> broken;
    broken.nan_at_position = 4;
    auto s = broken.make_state(2, 16);
    REQUIRE_THROWS_WITH(greedy(broken, s, prompt, {.max_length = 8}, ws), Contains("NaN logits for row 0 at step 2"));
    auto w = broken.make_state(8, 16);
    REQUIRE_THROWS_WITH(beam_search(broken, w, prompt, {.max_length = 8, .width = 4}, ws), Contains("NaN logits"));
  }
  SECTION("CTC options and lengths") {
    Tensor lp(Shape{2, 3, 9});
    const std::vector<std::int32_t> too_long{3, 4};
    REQUIRE_THROWS_WITH(ctc_greedy(Seq<9>(lp), 9, ws), Contains("blank 9 is outside the 9 labels"));
    REQUIRE_THROWS_WITH(ctc_greedy(Seq<9>(lp, too_long.data()), 0, ws), Contains("item 1 claims 4 frames of 3"));
    REQUIRE_THROWS_WITH(ctc_beam_search(Seq<9>(lp), {.width = 0}, ws), Contains("beam width must be at least 1"));
    REQUIRE_THROWS_WITH(ctc_beam_search(Seq<9>(lp), {.width = 2, .n_best = 3}, ws), Contains("n_best"));
  }
}

TEST_CASE("stop strings match across token boundaries, in bytes, and only in generated text") {
  Workspace ws;
  const std::vector<std::string> stops{"\n\n", "User:", "é!"};
  StopStrings s(stops, 3, ws);
  CHECK_FALSE(s.append(0, "Hello"));
  CHECK_FALSE(s.append(0, "\n"));
  CHECK(s.append(0, "\nmore"));         // "\n" + "\n…"
  CHECK_FALSE(s.append(1, "Us"));
  CHECK_FALSE(s.append(1, ""));
  CHECK_FALSE(s.append(1, "e"));
  CHECK(s.append(1, "r: hi"));          // "Us" + "" + "e" + "r:…"
  CHECK_FALSE(s.append(2, "caf\xc3"));  // é split between its two bytes
  CHECK(s.append(2, "\xa9!"));
  // A stop string already behind does not fire again for later pieces.
  StopStrings t(stops, 1, ws);
  CHECK(t.append(0, "User:"));
  CHECK_FALSE(t.append(0, "x"));
}

TEST_CASE("greedy with stop strings ends the row at the token that completes one") {
  CountingDecoder<26> decoder;  // token i reads as the letter 'a' + i
  const std::vector<std::int32_t> ids{0, 4};  // "a", "e": rows count b, c, d, … and f, g, h, …
  auto state = decoder.make_state(2, 32);
  GreedyOptions o{.max_length = 20};
  o.stream.stop_strings = {"cde", "zz"};
  static const std::string letters = "abcdefghijklmnopqrstuvwxyz";
  o.stream.token_text = [](std::int32_t id) { return std::string_view(letters).substr(static_cast<std::size_t>(id), 1); };
  Workspace ws;
  const Hypotheses h = greedy(decoder, state, Tokens(ids.data(), 2, 1), o, ws);
  CHECK(as_vector(h.tokens(0)) == std::vector<std::int32_t>{1, 2, 3, 4});  // b c d e
  CHECK(h.finish(0) == Finish::stop_string);
  CHECK(h.tokens(1).size() == 19);  // f … x: never "cde" (it began after it), never "zz"
  CHECK(h.finish(1) == Finish::max_length);
}

TEST_CASE("the state is continued, not reset; reset() starts over; reorder moves rows") {
  test::ElmanDecoder<13, 5, 7> decoder;
  test::fill_random(decoder, 5, 0.8f);
  const std::vector<std::int32_t> ids{3, 4, 5, 6, 7, 8};
  const Tokens prompt(ids.data(), 2, 3);
  Workspace ws;
  auto state = decoder.make_state(2, 64);
  const std::vector<std::int32_t> first = as_vector(greedy(decoder, state, prompt, {.max_length = 9}, ws).tokens(1));
  CHECK(state.positions(1) == 3 + 6 - 1);  // the prompt and every generated token but the last
  // Called again, greedy continues after what the state holds (a conversation's next turn) …
  const std::vector<std::int32_t> continued = as_vector(greedy(decoder, state, prompt, {.max_length = 9}, ws).tokens(1));
  CHECK(state.positions(1) == 2 * (3 + 6 - 1));
  CHECK(continued != first);
  // … and after reset() it starts over, as on a fresh state.
  state.reset();
  CHECK(as_vector(greedy(decoder, state, prompt, {.max_length = 9}, ws).tokens(1)) == first);
  auto fresh = decoder.make_state(2, 64);
  CHECK(as_vector(greedy(decoder, fresh, prompt, {.max_length = 9}, ws).tokens(1)) == first);
  // reorder gives row 0 what row 1 had.
  const std::vector<Index> sources{1, 1};
  fresh.reorder(sources);
  const std::vector<std::int32_t> next{first.back(), first.back()};
  const Feat<13> z = decoder.step(Tokens(next.data(), 2, 1), fresh, ws);
  for (Index c = 0; c < 13; ++c) CHECK(z.data[c] == z.data[13 + c]);
}

TEST_CASE("sampling is reproducible, and its limits are greedy") {
  test::ElmanDecoder<17, 5, 9> decoder;
  test::fill_random(decoder, 9, 1.0f);
  const std::vector<std::int32_t> ids{3, 4, 5, 6, 7, 8};
  const Tokens prompt(ids.data(), 3, 2);
  Workspace ws;
  auto run = [&](const SamplingOptions& o) {
    auto state = decoder.make_state(3, 64);
    return best_of_each(sample(decoder, state, prompt, o, ws));
  };
  auto greedy_tokens = [&] {
    auto state = decoder.make_state(3, 64);
    return best_of_each(greedy(decoder, state, prompt, {.max_length = 30}, ws));
  };
  const auto a = run({.max_length = 30, .seed = 11});
  CHECK(run({.max_length = 30, .seed = 11}) == a);
  CHECK(run({.max_length = 30, .seed = 12}) != a);
  CHECK(run({.max_length = 30, .top_k = 1, .seed = 3}) == greedy_tokens());
  CHECK(run({.max_length = 30, .top_p = 1e-6f, .seed = 4}) == greedy_tokens());
  CHECK(run({.max_length = 30, .temperature = 1e-3f, .seed = 5}) == greedy_tokens());
}

TEST_CASE("beam search of width 1 without EOS is greedy; the n best are distinct, best first") {
  test::ElmanDecoder<19, 5, 11> decoder;
  test::fill_random(decoder, 13, 1.0f);
  const std::vector<std::int32_t> ids{3, 4, 5, 6};
  const Tokens prompt(ids.data(), 2, 2);
  Workspace ws;
  auto state = decoder.make_state(2, 64);
  const Hypotheses g = greedy(decoder, state, prompt, {.max_length = 12}, ws);
  std::vector<std::vector<std::int32_t>> greedy_tokens{as_vector(g.tokens(0)), as_vector(g.tokens(1))};
  const float greedy_scores[] = {g.score(0), g.score(1)};
  auto one = decoder.make_state(2, 64);
  const Hypotheses b = beam_search(decoder, one, prompt, {.max_length = 12, .width = 1, .length_penalty = 0.0f}, ws);
  for (Index r = 0; r < 2; ++r) {
    CHECK(as_vector(b.tokens(r)) == greedy_tokens[static_cast<std::size_t>(r)]);
    CHECK(b.score(r) == Approx(greedy_scores[r]).epsilon(1e-5));  // α = 0: the plain sum
    CHECK(b.finish(r) == Finish::max_length);
  }
  auto wide = decoder.make_state(2 * 6, 64);
  const Hypotheses w = beam_search(decoder, wide, prompt, {.max_length = 12, .width = 6, .n_best = 6}, ws);
  for (Index r = 0; r < 2; ++r) {
    REQUIRE(w.count(r) == 6);
    for (Index k = 1; k < 6; ++k) {
      CHECK(w.score(r, k) <= w.score(r, k - 1));
      for (Index j = 0; j < k; ++j) CHECK(as_vector(w.tokens(r, k)) != as_vector(w.tokens(r, j)));
    }
  }
}

TEST_CASE("CTC greedy merges repeats and removes blanks; prefix beam search sums alignments") {
  // Frames whose best labels are a a _ a b b _ (blank = 0): "a a b" → {1, 1, 2}.
  const std::vector<int> best{1, 1, 0, 1, 2, 2, 0};
  Tensor lp(Shape{1, 7, 3});
  for (Index t = 0; t < 7; ++t)
    for (Index c = 0; c < 3; ++c) lp[t * 3 + c] = c == best[static_cast<std::size_t>(t)] ? std::log(0.8f) : std::log(0.1f);
  Workspace ws;
  const Hypotheses g = ctc_greedy(Seq<3>(lp), 0, ws);
  CHECK(as_vector(g.tokens(0)) == std::vector<std::int32_t>{1, 1, 2});
  CHECK(g.score(0) == Approx(7 * std::log(0.8)).epsilon(1e-5));
  // Two frames of [blank 0.5, a 0.5]: P("a") = P(a a) + P(a _) + P(_ a) = 0.75, P("") = 0.25.
  Tensor two(Shape{1, 2, 2});
  for (Index i = 0; i < 4; ++i) two[i] = std::log(0.5f);
  const Hypotheses b = ctc_beam_search(Seq<2>(two), {.width = 4, .n_best = 2}, ws);
  REQUIRE(b.count(0) == 2);
  CHECK(as_vector(b.tokens(0, 0)) == std::vector<std::int32_t>{1});
  CHECK(std::exp(b.score(0, 0)) == Approx(0.75).epsilon(1e-6));
  CHECK(b.tokens(0, 1).empty());
  CHECK(std::exp(b.score(0, 1)) == Approx(0.25).epsilon(1e-6));
  // No frames: nothing, with probability 1.
  const std::vector<std::int32_t> none{0};
  const Hypotheses e = ctc_beam_search(Seq<2>(two.data(), 1, 2, none.data()), {.width = 3}, ws);
  CHECK(e.tokens(0).empty());
  CHECK(e.score(0) == 0.0f);
}

TEST_CASE("transformer decoders: memory items that do not divide the rows, a memory or a request too long") {
  using CaptionLayer = TransformerDecoderLayer<8, 2, 16, Layer{.norm_first = true, .causal = true}>;
  CrossAttentionDecoder<11, 6, CaptionLayer, 1> captioner;
  test::fill_random(captioner, 7, 0.3f);
  Workspace ws;
  Tensor memory(Shape{3, 5, 8});
  auto state = captioner.make_state(4, 6, 5);
  REQUIRE_THROWS_AS(captioner.condition(state, Seq<8>(memory), ws), ShapeError);
  REQUIRE_THROWS_WITH(captioner.condition(state, Seq<8>(memory), ws),
                      Contains("CrossAttentionDecoder<11, 6") && Contains("3 memory items for a state of 4 rows"));
  Tensor long_memory(Shape{2, 7, 8});
  auto pair = captioner.make_state(2, 6, 5);
  REQUIRE_THROWS_AS(captioner.condition(pair, Seq<8>(long_memory), ws), RangeError);
  REQUIRE_THROWS_WITH(captioner.condition(pair, Seq<8>(long_memory), ws),
                      Contains("the memory has 7 positions but the cache was made for at most 5"));

  // The state holds MaxLen = 6 positions, whatever was asked for.
  auto capped = captioner.make_state(2, 100, 5);
  CHECK(capped.capacity() == 6);
  Tensor ok(Shape{2, 5, 8});
  captioner.condition(capped, Seq<8>(ok), ws);
  const std::vector<std::int32_t> bos{0, 0};
  REQUIRE_THROWS_AS(greedy(captioner, capped, Tokens(bos.data(), 2, 1), {.max_length = 8}, ws), ResourceError);
}

TEST_CASE("kernels::argmax (vector passes) ranks as element by element: odd sizes, ties, NaN, -inf") {
  // The definition: larger first, equal ones by lower position, NaN below every number.
  auto ranked = [](const std::vector<float>& x) {
    Index best = 0;
    for (Index i = 1; i < static_cast<Index>(x.size()); ++i) {
      const float a = x[static_cast<std::size_t>(best)], b = x[static_cast<std::size_t>(i)];
      const bool a_nan = a != a, b_nan = b != b;
      if ((a_nan && !b_nan) || (!a_nan && !b_nan && b > a)) best = i;
    }
    return best;
  };
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<int> level(-3, 3);  // few distinct values: many ties
  for (Index n : {1, 2, 3, 15, 16, 17, 31, 32, 33, 47, 63, 64, 65, 100, 8000, 8001}) {
    for (int kind = 0; kind < 5; ++kind) {
      std::vector<float> x(static_cast<std::size_t>(n));
      for (auto& v : x) v = static_cast<float>(level(rng));
      if (kind == 1) x[static_cast<std::size_t>(n - 1)] = 9.0f;            // the largest in the tail
      if (kind == 2) for (Index i = 0; i < n; i += 3) x[static_cast<std::size_t>(i)] = nan;
      if (kind == 3) for (auto& v : x) v = -inf;                          // nothing above −inf
      if (kind == 4) for (Index i = 0; i < n; ++i) x[static_cast<std::size_t>(i)] = i % 2 ? -inf : nan;
      INFO("n=" << n << " kind=" << kind);
      CHECK(kernels::argmax(x.data(), n) == ranked(x));
    }
  }
}
