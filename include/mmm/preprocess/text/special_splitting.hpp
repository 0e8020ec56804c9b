#pragma once
// The encode calls of a tokenizer that splits the allowed special tokens out of the text and
// pre-tokenizes the rest by a SplitPattern (ByteLevelBpe, Tiktoken), written once over the
// tokenizer's run(text, allowed, emit(id, begin, end)) and pattern(). The tokenizer derives
// from EncodesWithSpecials<Self> and befriends it (run is its own business).

#include <cstdint>
#include <string_view>
#include <vector>

#include "mmm/preprocess/text/special_tokens.hpp"
#include "mmm/preprocess/text/split_pattern.hpp"
#include "mmm/preprocess/text/token_batch.hpp"

namespace mmm {

template <class Self>
class EncodesWithSpecials : public EncodeReturning<Self> {
 public:
  using EncodeReturning<Self>::encode;
  // Special tokens as plain text. Replaces `ids`; reusing the vector makes repeated calls
  // allocation-free.
  void encode(std::string_view text, std::vector<std::int32_t>& ids) const { encode(text, ids, AllowedSpecial::none()); }
  // With the allowed special tokens split out as their ids.
  void encode(std::string_view text, std::vector<std::int32_t>& ids, const AllowedSpecial& allowed) const {
    ids.clear();
    self().run(text, allowed, [&](std::int32_t id, std::size_t, std::size_t) { ids.push_back(id); });
  }
  Encoding encode_with_offsets(std::string_view text, const AllowedSpecial& allowed = {}) const {
    Encoding e;
    self().run(text, allowed, [&](std::int32_t id, std::size_t b, std::size_t en) {
      e.ids.push_back(id);
      e.offsets.push_back({static_cast<std::uint32_t>(b), static_cast<std::uint32_t>(en)});
    });
    return e;
  }
  // The pattern's pieces of a text without specials, as byte ranges.
  std::vector<TokenSpan> pre_tokens(std::string_view text) const {
    std::vector<TokenSpan> out;
    split_by_pattern(self().pattern(), text, [&](std::size_t b, std::size_t e) {
      out.push_back({static_cast<std::uint32_t>(b), static_cast<std::uint32_t>(e)});
    });
    return out;
  }

 private:
  const Self& self() const noexcept { return static_cast<const Self&>(*this); }
};

}  // namespace mmm
