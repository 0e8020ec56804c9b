#pragma once
// What every tokenizer gives back, and how encoded texts become a `Tokens` batch: ids
// padded to the longest item with the pad id, plus each item's length.

#include <algorithm>
#include <concepts>
#include <type_traits>
#include <ranges>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mmm/core/errors.hpp"
#include "mmm/core/kinds.hpp"
#include "mmm/core/tensor.hpp"

namespace mmm {

// Byte range [begin, end) of the input text a token came from. Tokens that have no
// surface of their own (the leading bytes of a byte-fallback run) have begin == end.
struct TokenSpan {
  std::uint32_t begin = 0;
  std::uint32_t end = 0;
  friend bool operator==(const TokenSpan&, const TokenSpan&) = default;
};

struct Encoding {
  std::vector<std::int32_t> ids;
  std::vector<TokenSpan> offsets;  // one per id
};

// Gives a tokenizer with `encode(text, ids)` (into a reused vector) the returning form
// `encode(text)`, and `encode(text, options)` to one that also has `encode(text, ids,
// options)`; the tokenizer says `using EncodeReturning<Self>::encode;`.
template <class Self>
struct EncodeReturning {
  std::vector<std::int32_t> encode(std::string_view text) const {
    std::vector<std::int32_t> ids;
    static_cast<const Self&>(*this).encode(text, ids);
    return ids;
  }
  template <class Options>
    requires(!std::same_as<std::remove_cvref_t<Options>, std::vector<std::int32_t>>)
  std::vector<std::int32_t> encode(std::string_view text, const Options& options) const {
    std::vector<std::int32_t> ids;
    static_cast<const Self&>(*this).encode(text, ids, options);
    return ids;
  }
};

template <class T>
concept TextTokenizer = requires(const T& t, std::string_view text, std::span<const std::int32_t> ids) {
  { t.encode(text) } -> std::same_as<std::vector<std::int32_t>>;
  { t.encode_with_offsets(text) } -> std::same_as<Encoding>;
  { t.decode(ids) } -> std::same_as<std::string>;
  { t.pad_id() } -> std::convertible_to<std::int32_t>;
  { t.size() } -> std::convertible_to<std::size_t>;
};

// Ids [N, T] padded to the longest item, and the valid length of each item.
struct TokenBatch {
  IntTensor ids;
  std::vector<std::int32_t> lengths;
  // A view for modules taking Tokens; valid while this batch lives.
  Tokens tokens() const { return Tokens(ids.view(), lengths.data()); }
};

inline TokenBatch pad_batch(std::span<const std::vector<std::int32_t>> items, std::int32_t pad_id) {
  std::size_t longest = 0;
  for (const auto& item : items) longest = std::max(longest, item.size());
  TokenBatch batch{IntTensor({static_cast<index>(items.size()), static_cast<index>(longest)}, pad_id), {}};
  batch.lengths.reserve(items.size());
  for (std::size_t i = 0; i < items.size(); ++i) {
    std::copy(items[i].begin(), items[i].end(), batch.ids.data() + i * longest);
    batch.lengths.push_back(static_cast<std::int32_t>(items[i].size()));
  }
  return batch;
}

struct BatchOptions {
  bool add_bos = false;
  bool add_eos = false;
  std::int32_t pad_id = -1;  // -1: the tokenizer's own pad id
};

// Encodes each text and pads them into one batch. A tokenizer without a pad id (a
// SentencePiece model trained with pad_id=-1) needs options.pad_id.
// `texts` is any range of things that convert to std::string_view (strings, views, literals).
template <TextTokenizer Tokenizer, std::ranges::input_range Texts>
  requires std::convertible_to<std::ranges::range_reference_t<Texts>, std::string_view>
TokenBatch encode_batch(const Tokenizer& tokenizer, const Texts& texts, BatchOptions options = {}) {
  const std::int32_t pad = options.pad_id >= 0 ? options.pad_id : tokenizer.pad_id();
  if (pad < 0)
    throw RangeError("encode_batch: this tokenizer has no pad id; pass BatchOptions::pad_id");
  std::vector<std::vector<std::int32_t>> items;
  for (std::string_view text : texts) {
    std::vector<std::int32_t> ids;
    if (options.add_bos) {
      if constexpr (requires { tokenizer.bos_id(); }) {
        if (tokenizer.bos_id() < 0) throw RangeError("encode_batch: add_bos requested but the tokenizer has no bos id");
        ids.push_back(tokenizer.bos_id());
      } else {
        throw RangeError("encode_batch: add_bos requested but the tokenizer has no bos id");
      }
    }
    const auto body = tokenizer.encode(text);
    ids.insert(ids.end(), body.begin(), body.end());
    if (options.add_eos) {
      if constexpr (requires { tokenizer.eos_id(); }) {
        if (tokenizer.eos_id() < 0) throw RangeError("encode_batch: add_eos requested but the tokenizer has no eos id");
        ids.push_back(tokenizer.eos_id());
      } else {
        throw RangeError("encode_batch: add_eos requested but the tokenizer has no eos id");
      }
    }
    items.push_back(std::move(ids));
  }
  return pad_batch(items, pad);
}

namespace detail {
inline void check_decode_id(std::int32_t id, std::size_t vocab_size, const char* who) {
  if (id < 0 || static_cast<std::size_t>(id) >= vocab_size)
    throw RangeError(std::string(who) + ": token id " + std::to_string(id) + " is outside the vocabulary of " +
                     std::to_string(vocab_size) + " tokens");
}
}  // namespace detail

}  // namespace mmm
