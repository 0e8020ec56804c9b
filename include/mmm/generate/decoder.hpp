#pragma once
// The one interface every decoding algorithm in generate/ runs on: greedy, sampling and beam
// search (and with them streaming and stop strings) see a decoder only through this. An LSTM
// captioner, a transformer with a KV cache and a toy recurrent net in a test all decode with
// the same code.
//
//   struct MyDecoder {
//     static constexpr index vocab_size = V;
//     using State = …;                                    // what the decoder carries between steps
//     State make_state(index rows, index capacity) const;  // allocates; nothing else does
//     Feat<V> step(const Tokens& tokens, State& state, Workspace& ws) const;
//   };
//   State: index rows() const; void reset(); void reorder(std::span<const index> sources);
//          optionally index capacity() const (positions it can hold, e.g. a KV cache's)
//
// make_state(rows, capacity): a state for `rows` independent sequences (batch items, or
// batch items × beams) of up to `capacity` positions each, empty. All its memory is taken
// here, so steps allocate nothing but Workspace scratch. A decoder conditioned on something
// other than tokens (image features for a captioner's first LSTM state, cross-attention
// keys and values over image patches, image tokens in front of the text — LLaVA) puts that
// into the state before decoding starts; the algorithms neither reset nor condition a state,
// they continue from it.
//
// step(tokens, state, ws): appends tokens.length positions to every row — a prompt chunk, or
// one token per row while generating — and gives the logits of each row's last new position
// (rows × V). tokens.batch == state.rows(); with tokens.lengths, row r takes only its first
// lengths[r] ≥ 1 tokens (prompts of different lengths in one batch), so rows then hold
// different numbers of positions. Scratch and the output come from ws, which the step must
// not reset (the algorithm keeps its own buffers there): use modules' forward(), not
// operator(). The logits stay valid until the algorithm releases them. (A model whose step
// starts a new call on its Workspace keeps one of its own in the state and gives logits
// from there, valid until the next step: generate/transformer_decoder.hpp does.)
//
// state.reset(): empty every row again, keeping the memory (a new request on the same state).
// state.reorder(sources): row r continues from what row sources[r] held before the call —
// any rows, one source for several rows (beam search keeps the best beams, often copies of
// one). sources.size() == rows(). It must not allocate; a KV cache should move indices, not
// whole histories, where it can.
//
// Numbers: batch, length and capacity are run-time values; the vocabulary is the type's.

#include <algorithm>
#include <concepts>
#include <cstdint>
#include <span>
#include <string>

#include "mmm/core/errors.hpp"
#include "mmm/core/kinds.hpp"
#include "mmm/core/workspace.hpp"

namespace mmm::generate {

template <class S>
concept DecoderState = requires(S& s, const S& cs, std::span<const index> sources) {
  { cs.rows() } -> std::convertible_to<index>;
  s.reset();
  s.reorder(sources);
};

template <class D>
concept StepDecoder = requires {
  typename D::State;
  { D::vocab_size } -> std::convertible_to<index>;
} && DecoderState<typename D::State> && requires(const D& d, typename D::State& s, const Tokens& t, Workspace& ws, index n) {
  { d.make_state(n, n) } -> std::same_as<typename D::State>;
  { d.step(t, s, ws) } -> std::same_as<Feat<D::vocab_size>>;
};

template <class S>
concept HasCapacity = requires(const S& s) {
  { s.capacity() } -> std::convertible_to<index>;
};

namespace detail {

// A prompt every algorithm can start from: at least one token in every row, ids in the
// vocabulary; the longest row's length.
inline index check_prompt(const char* who, const Tokens& prompt, index vocab) {
  // Names are built only on the error paths: a generation must not allocate.
  auto w = [who] { return std::string(who); };
  if (prompt.batch <= 0) throw ShapeError(w() + ": the prompt has no rows");
  if (prompt.length <= 0)
    throw ShapeError(w() + ": the prompt is empty (" + std::to_string(prompt.batch) +
                     " rows of 0 tokens); start every row with at least one token, e.g. a BOS id");
  index longest = 0;
  for (index r = 0; r < prompt.batch; ++r) {
    const index n = prompt.valid_length(r);
    if (n < 1 || n > prompt.length)
      throw ShapeError(w() + ": prompt row " + std::to_string(r) + " has " + std::to_string(n) + " tokens of " +
                       std::to_string(prompt.length) + "; every row needs at least one (empty prompts have nothing to continue)");
    for (index t = 0; t < n; ++t) {
      const std::int32_t id = prompt.ids[r * prompt.length + t];
      if (id < 0 || id >= vocab)
        throw RangeError(w() + ": prompt token " + std::to_string(id) + " at row " + std::to_string(r) + ", position " +
                         std::to_string(t) + " is outside the vocabulary of " + std::to_string(vocab) + " ids");
    }
    longest = std::max(longest, n);
  }
  return longest;
}

// Room for at least one new token after every row's prompt.
inline void check_max_length(const char* who, const Tokens& prompt, index max_length) {
  for (index r = 0; r < prompt.batch; ++r)
    if (max_length <= prompt.valid_length(r))
      throw RangeError(std::string(who) + ": max_length " + std::to_string(max_length) + " leaves no room for a new token after row " +
                       std::to_string(r) + "'s " + std::to_string(prompt.valid_length(r)) +
                       "-token prompt; max_length counts the prompt and the generated tokens");
}

inline void check_eos(const char* who, std::int32_t eos, index vocab) {
  if (eos < -1 || eos >= vocab)
    throw RangeError(std::string(who) + ": eos " + std::to_string(eos) + " is outside the vocabulary of " +
                     std::to_string(vocab) + " ids (-1: no end-of-sequence token)");
}

template <class State>
void check_state(const char* who, const State& state, index rows, index positions) {
  if (state.rows() != rows)
    throw ShapeError(std::string(who) + ": the decoder state has " + std::to_string(state.rows()) + " rows, this needs " +
                     std::to_string(rows) + "; make_state(rows, capacity) with that many");
  if constexpr (HasCapacity<State>)
    if (state.capacity() < positions)
      throw ResourceError(std::string(who) + ": the decoder state holds " + std::to_string(state.capacity()) +
                          " positions per row, this may need " + std::to_string(positions) +
                          "; make_state(rows, prompt.length + max_length) is always enough");
}

}  // namespace detail

}  // namespace mmm::generate
