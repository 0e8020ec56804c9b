// A generated token allocates nothing: greedy (with the repetition penalty, a callback per
// token and stop strings), sampling (temperature, top-k, top-p, penalty), beam search and
// CTC decoding. Every operator new is counted; once a Workspace has seen a request, the same
// request again allocates nothing at all, and a request for twice the tokens no more.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "generate/decoders.hpp"
#include "mmm/pipeline.hpp"
#include "support/allocation_counter.hpp"
#include "support/random_model.hpp"

using namespace mmm;
using namespace mmm::generate;

namespace {
using Decoder = test::ElmanDecoder<53, 9, 17>;

// Allocations of a warm call, and of a warm call with twice the new tokens.
template <class Run>
std::pair<long, long> warm_allocations(Run&& run, Index short_length, Index long_length) {
  (void)run(long_length);
  (void)run(long_length);
  const long a = test::allocations_during([&] { (void)run(short_length); }, 3);
  const long b = test::allocations_during([&] { (void)run(long_length); }, 3);
  return {a, b};
}
}  // namespace

TEST_CASE("greedy, sampling and beam search allocate nothing per generated token") {
  Decoder decoder;
  test::fill_random(decoder, 21, 0.7f);
  const std::vector<std::int32_t> ids{3, 4, 5, 6, 7, 8, 9, 10, 11};
  const std::vector<std::int32_t> lengths{3, 1, 2};
  const Tokens prompt(ids.data(), 3, 3, lengths.data());
  Workspace ws;
  std::vector<std::string> pieces;
  for (int i = 0; i < 53; ++i) pieces.push_back(std::string(1, static_cast<char>('a' + i % 26)));
  long streamed = 0;
  StreamOptions stream;
  stream.on_token = [&](Index, std::int32_t) { ++streamed; };
  stream.stop_strings = {"zyx", "qqq"};
  stream.token_text = [&](std::int32_t id) { return std::string_view(pieces[static_cast<std::size_t>(id)]); };

  auto greedy_state = decoder.make_state(3, 256);
  auto sample_state = decoder.make_state(3, 256);
  auto beam_state = decoder.make_state(3 * 4, 256);
  // Options built once: copying stop strings and callbacks is the caller's allocation.
  GreedyOptions greedy_options{.repetition_penalty = 1.3f, .stream = stream};
  const auto [greedy_short, greedy_long] = warm_allocations(
      [&](Index n) {
        ws.reset();
        greedy_state.reset();
        greedy_options.max_length = n;
        return greedy(decoder, greedy_state, prompt, greedy_options, ws).tokens(0).size();
      },
      40, 80);
  SamplingOptions sampling{.max_length = 0, .eos = 1, .temperature = 0.8f, .top_k = 20, .top_p = 0.9f,
                           .repetition_penalty = 1.1f, .seed = 5, .stream = stream};
  const auto [sample_short, sample_long] = warm_allocations(
      [&](Index n) {
        ws.reset();
        sample_state.reset();
        sampling.max_length = n;
        return sample(decoder, sample_state, prompt, sampling, ws).tokens(0).size();
      },
      40, 80);
  SamplingOptions nucleus{.top_p = 0.7f, .seed = 9};
  const auto [nucleus_short, nucleus_long] = warm_allocations(
      [&](Index n) {
        ws.reset();
        sample_state.reset();
        nucleus.max_length = n;
        return sample(decoder, sample_state, prompt, nucleus, ws).tokens(0).size();
      },
      40, 80);
  const auto [beam_short, beam_long] = warm_allocations(
      [&](Index n) {
        ws.reset();
        beam_state.reset();
        return beam_search(decoder, beam_state, prompt, {.max_length = n, .eos = 1, .width = 4, .n_best = 3}, ws)
            .tokens(0)
            .size();
      },
      40, 80);
  CHECK(greedy_short == 0);
  CHECK(greedy_long == 0);
  CHECK(sample_short == 0);
  CHECK(sample_long == 0);
  CHECK(nucleus_short == 0);
  CHECK(nucleus_long == 0);
  CHECK(beam_short == 0);
  CHECK(beam_long == 0);
  CHECK(streamed > 0);

  // The counter does see allocations: a fresh Workspace allocates.
  const long start = test::allocations();
  Workspace fresh;
  greedy_state.reset();
  (void)greedy(decoder, greedy_state, prompt, {.max_length = 10}, fresh);
  CHECK(test::allocations() > start);
}

TEST_CASE("CTC greedy and prefix beam search allocate nothing once warm") {
  Tensor lp(Shape{4, 60, 29});
  for (Index i = 0; i < lp.numel(); ++i) lp[i] = -static_cast<float>((i * 7919) % 113) / 17.0f;
  const std::vector<std::int32_t> lengths{60, 1, 33, 0};
  const Seq<29> x(lp, lengths.data());
  Workspace ws;
  auto run = [&] {
    ws.reset();
    const Hypotheses g = ctc_greedy(x, 0, ws);
    const Hypotheses b = ctc_beam_search(x, {.width = 8, .n_best = 3}, ws);
    return g.tokens(0).size() + b.tokens(0).size();
  };
  (void)run();
  (void)run();
  CHECK(test::allocations_during(run, 5) == 0);
}

TEST_CASE("an LSTM decoder (RecurrentDecoder) decodes without allocating per token") {
  generate::RecurrentDecoder<61, 16, LSTM<16, 32, Rnn{.layers = 2}>> decoder;
  test::fill_random(decoder, 23, 0.4f);
  const std::vector<std::int32_t> ids{3, 4, 5, 6, 7, 8};
  const std::vector<std::int32_t> lengths{3, 2};
  const Tokens prompt(ids.data(), 2, 3, lengths.data());
  Tensor image(Shape{2, 16});
  for (Index i = 0; i < image.numel(); ++i) image[i] = 0.1f * static_cast<float>(i % 7);
  Workspace ws;
  auto greedy_state = decoder.make_state(2, 0);
  auto beam_state = decoder.make_state(2 * 3, 0);
  const auto [greedy_short, greedy_long] = warm_allocations(
      [&](Index n) {
        ws.reset();
        greedy_state.reset();
        decoder.condition(greedy_state, Feat<16>(image), ws);
        return greedy(decoder, greedy_state, prompt, {.max_length = n}, ws).tokens(0).size();
      },
      30, 60);
  const auto [beam_short, beam_long] = warm_allocations(
      [&](Index n) {
        ws.reset();
        beam_state.reset();
        decoder.condition(beam_state, Feat<16>(image), ws);
        return beam_search(decoder, beam_state, prompt, {.max_length = n, .eos = 1, .width = 3}, ws).tokens(0).size();
      },
      30, 60);
  CHECK(greedy_short == 0);
  CHECK(greedy_long == 0);
  CHECK(beam_short == 0);
  CHECK(beam_long == 0);
}

TEST_CASE("a single row's LSTM tokens, one parallel region each on two threads, allocate nothing") {
  generate::RecurrentDecoder<301, 16, LSTM<16, 40, Rnn{.layers = 2}>> decoder;
  test::fill_random(decoder, 25, 0.4f);
  const std::vector<std::int32_t> ids{3, 4, 5};
  const Tokens prompt(ids.data(), 1, 3);
  const Index saved = kernels::recurrent_tuning().min_team_macs;
  kernels::recurrent_tuning().min_team_macs = 0;  // the team even at this size
  set_num_threads(2);
  Workspace ws;
  auto state = decoder.make_state(1, 0);
  const auto [short_run, long_run] = warm_allocations(
      [&](Index n) {
        ws.reset();
        state.reset();
        return greedy(decoder, state, prompt, {.max_length = n}, ws).tokens(0).size();
      },
      30, 60);
  kernels::recurrent_tuning().min_team_macs = saved;
  set_num_threads(0);
  CHECK(short_run == 0);
  CHECK(long_run == 0);
}

TEST_CASE("transformer decoders over a KV cache decode without allocating per token") {
  using Gpt2 = GPT2<GPT2Config{.vocab = 61, .positions = 160, .dim = 32, .heads = 4, .layers = 2}>;
  Gpt2 model;
  test::fill_random(model, 29, 0.3f);
  const LanguageModelDecoder<Gpt2> lm(model);
  const std::vector<std::int32_t> ids{3, 4, 5, 6, 7, 8};
  const std::vector<std::int32_t> lengths{3, 2};
  const Tokens prompt(ids.data(), 2, 3, lengths.data());
  Workspace ws;
  auto greedy_state = lm.make_state(2, 3 + 80);
  auto sample_state = lm.make_state(2, 3 + 80);
  auto beam_state = lm.make_state(2 * 4, 3 + 80);
  const auto [greedy_short, greedy_long] = warm_allocations(
      [&](Index n) {
        ws.reset();
        greedy_state.reset();
        return greedy(lm, greedy_state, prompt, {.max_length = n}, ws).tokens(0).size();
      },
      40, 80);
  const auto [sample_short, sample_long] = warm_allocations(
      [&](Index n) {
        ws.reset();
        sample_state.reset();
        return sample(lm, sample_state, prompt, {.max_length = n, .top_k = 20, .top_p = 0.9f, .seed = 3}, ws)
            .tokens(0)
            .size();
      },
      40, 80);
  const auto [beam_short, beam_long] = warm_allocations(
      [&](Index n) {
        ws.reset();
        beam_state.reset();
        return beam_search(lm, beam_state, prompt, {.max_length = n, .eos = 1, .width = 4, .n_best = 2}, ws)
            .tokens(0)
            .size();
      },
      40, 80);
  CHECK(greedy_short == 0);
  CHECK(greedy_long == 0);
  CHECK(sample_short == 0);
  CHECK(sample_long == 0);
  CHECK(beam_short == 0);
  CHECK(beam_long == 0);

  // A captioner cross-attending to 12 memory positions per image.
  using CaptionLayer = TransformerDecoderLayer<16, 2, 32, Layer{.norm_first = true, .causal = true}>;
  CrossAttentionDecoder<43, 64, CaptionLayer, 2> captioner;
  test::fill_random(captioner, 31, 0.3f);
  Tensor memory(Shape{2, 12, 16});
  for (Index i = 0; i < memory.numel(); ++i) memory[i] = 0.05f * static_cast<float>(i % 11) - 0.2f;
  const std::vector<std::int32_t> bos{0, 0};
  const Tokens start(bos.data(), 2, 1);
  auto caption_state = captioner.make_state(2 * 3, 64, 12);
  const auto [caption_short, caption_long] = warm_allocations(
      [&](Index n) {
        ws.reset();
        caption_state.reset();
        captioner.condition(caption_state, Seq<16>(memory), ws);
        return beam_search(captioner, caption_state, start, {.max_length = n, .eos = 1, .width = 3}, ws)
            .tokens(0)
            .size();
      },
      30, 60);
  CHECK(caption_short == 0);
  CHECK(caption_long == 0);
}
