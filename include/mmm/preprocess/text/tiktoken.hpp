#pragma once
// OpenAI's tiktoken encodings: a `.tiktoken` rank file (one "base64(token) rank" per line:
// cl100k_base for GPT-4, o200k_base for GPT-4o, r50k/p50k for GPT-3), a pre-tokenizer
// pattern and special tokens. Encoding follows tiktoken's CoreBPE: split the text at the
// allowed special tokens, split each stretch between them by the pattern, look each piece up
// whole, and otherwise merge its bytes pairwise, always the adjacent pair whose
// concatenation has the lowest rank (the leftmost of equals), until no pair is a token.
// A token's id is its rank; ranks may leave gaps (cl100k_base has none for 100256).
//
// Special tokens are plain text unless the call allows them (AllowedSpecial), as tiktoken's
// encode(text, allowed_special=..., disallowed_special=()). Invalid UTF-8 is encoded byte
// for byte; the pattern classes an invalid byte like U+FFFD. decode() replaces invalid
// UTF-8 in the result as bytes.decode("utf-8", "replace") does; decode_bytes() does not.
//
//   auto enc = mmm::Tiktoken::cl100k_base("cl100k_base.tiktoken");
//   auto ids = enc.encode("hello <|endoftext|>", mmm::AllowedSpecial::all());

#include <algorithm>
#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mmm/core/checked.hpp"
#include "mmm/core/errors.hpp"
#include "mmm/io/mapped_file.hpp"
#include "mmm/preprocess/text/piece_table.hpp"
#include "mmm/preprocess/text/special_splitting.hpp"
#include "mmm/preprocess/text/special_tokens.hpp"
#include "mmm/preprocess/text/split_pattern.hpp"
#include "mmm/preprocess/text/token_batch.hpp"
#include "mmm/preprocess/text/utf8.hpp"

namespace mmm {

namespace detail {
// RFC 4648 base64 with the standard alphabet and '=' padding, strictly: false on anything
// else (stray characters, bad padding, non-zero trailing bits).
inline bool decode_base64(std::string_view in, std::string& out) {
  static constexpr auto table = [] {
    std::array<std::int8_t, 256> t{};
    t.fill(-1);
    const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(alphabet[i])] = static_cast<std::int8_t>(i);
    return t;
  }();
  out.clear();
  if (in.empty() || in.size() % 4 != 0) return false;
  for (std::size_t i = 0; i < in.size(); i += 4) {
    const bool last = i + 4 == in.size();
    const int pad = last ? (in[i + 3] == '=') + (in[i + 2] == '=' && in[i + 3] == '=') : 0;
    int v[4];
    for (int k = 0; k < 4 - pad; ++k)
      if ((v[k] = table[static_cast<unsigned char>(in[i + static_cast<std::size_t>(k)])]) < 0) return false;
    if (pad == 2) {
      if (v[1] & 0xF) return false;
      out += static_cast<char>((v[0] << 2) | (v[1] >> 4));
    } else if (pad == 1) {
      if (v[2] & 0x3) return false;
      out += static_cast<char>((v[0] << 2) | (v[1] >> 4));
      out += static_cast<char>(((v[1] & 0xF) << 4) | (v[2] >> 2));
    } else {
      out += static_cast<char>((v[0] << 2) | (v[1] >> 4));
      out += static_cast<char>(((v[1] & 0xF) << 4) | (v[2] >> 2));
      out += static_cast<char>(((v[2] & 0x3) << 6) | v[3]);
    }
  }
  return true;
}
}  // namespace detail

class Tiktoken : public EncodesWithSpecials<Tiktoken> {
  friend class EncodesWithSpecials<Tiktoken>;

 public:
  // The named encodings, with tiktoken's patterns and special tokens; `ranks_path` is the
  // encoding's .tiktoken file.
  static Tiktoken cl100k_base(const std::string& ranks_path) {
    return load(ranks_path, SplitPattern::cl100k,
                {{"<|endoftext|>", 100257}, {"<|fim_prefix|>", 100258}, {"<|fim_middle|>", 100259},
                 {"<|fim_suffix|>", 100260}, {"<|endofprompt|>", 100276}});
  }
  static Tiktoken o200k_base(const std::string& ranks_path) {
    return load(ranks_path, SplitPattern::o200k, {{"<|endoftext|>", 199999}, {"<|endofprompt|>", 200018}});
  }
  static Tiktoken r50k_base(const std::string& ranks_path) {
    return load(ranks_path, SplitPattern::gpt2, {{"<|endoftext|>", 50256}});
  }
  static Tiktoken p50k_base(const std::string& ranks_path) { return r50k_base(ranks_path); }

  // Any rank file with a pattern and special tokens (ids not used by a rank).
  static Tiktoken load(const std::string& ranks_path, SplitPattern pattern, std::vector<SpecialToken> specials = {}) {
    MappedFile f(ranks_path);
    return from_text(std::string_view(reinterpret_cast<const char*>(f.bytes().data()), f.size()), ranks_path, pattern,
                     std::move(specials));
  }
  // The same from the file's contents; `name` is what errors call it.
  static Tiktoken from_text(std::string_view ranks, const std::string& name, SplitPattern pattern,
                            std::vector<SpecialToken> specials = {}) {
    if (ranks.size() > UINT32_MAX / 2)
      throw ResourceError(name + ": a rank file of " + std::to_string(ranks.size()) + " bytes is larger than the 2 GiB mmm reads");
    Tiktoken t;
    t.pattern_ = pattern;
    t.read_ranks(ranks, name);
    t.add_specials(std::move(specials), name);
    return t;
  }


  // The concatenated bytes of the tokens.
  std::string decode_bytes(std::span<const std::int32_t> ids) const {
    std::string out;
    for (std::int32_t id : ids) out += token_bytes(id);
    return out;
  }
  std::string decode(std::span<const std::int32_t> ids) const { return utf8::sanitize_maximal(decode_bytes(ids)); }

  // One past the largest id (ranks and specials); ids in gaps decode as errors.
  std::size_t size() const noexcept { return tokens_.size(); }
  std::int32_t pad_id() const noexcept { return -1; }  // tiktoken encodings have none
  SplitPattern pattern() const noexcept { return pattern_; }
  const std::vector<SpecialToken>& special_tokens() const noexcept { return specials_.tokens(); }
  // The id of a special token, or -1.
  std::int32_t special_id(std::string_view text) const noexcept { return specials_.find(text); }
  // The rank of a token given as bytes, or -1.
  std::int32_t rank(std::string_view bytes) const noexcept { return ranks_.find(bytes); }
  std::string_view token_bytes(std::int32_t id) const {
    detail::check_decode_id(id, size(), "Tiktoken::decode");
    const Span s = tokens_[static_cast<std::size_t>(id)];
    if (s.length == 0) throw RangeError("Tiktoken::decode: token id " + std::to_string(id) + " is unused in this encoding");
    return std::string_view(arena_).substr(s.offset, s.length);
  }

 private:
  struct Span {
    std::uint32_t offset = 0, length = 0;
  };
  struct Scratch {
    std::vector<std::uint32_t> start;  // start byte of each part, then the piece's end
    std::vector<std::int32_t> rank;    // rank of part i merged with part i + 1, or -1
    struct Candidate {
      std::int32_t rank;
      std::uint32_t left, right, right_end;
    };
    std::vector<Candidate> heap;
    std::vector<std::int32_t> next, prev;
  };
  static Scratch& scratch() {
    thread_local Scratch s;
    return s;
  }

  void read_ranks(std::string_view text, const std::string& name) {
    std::string token;
    std::size_t line_no = 0;
    std::int64_t max_rank = -1;
    std::vector<std::pair<std::int32_t, Span>> entries;
    for (std::size_t pos = 0; pos < text.size();) {
      std::size_t end = text.find('\n', pos);
      if (end == std::string_view::npos) end = text.size();
      std::string_view line = text.substr(pos, end - pos);
      pos = end + 1;
      ++line_no;
      if (line.ends_with('\r')) line.remove_suffix(1);
      if (line.empty()) continue;
      auto bad = [&](const std::string& why) {
        throw FormatError(name + ": line " + std::to_string(line_no) + ": " + why);
      };
      const std::size_t space = line.find(' ');
      if (space == std::string_view::npos || line.find(' ', space + 1) != std::string_view::npos)
        bad("is not \"base64-token rank\"");
      if (!detail::decode_base64(line.substr(0, space), token)) bad("the token is not valid base64");
      const std::string_view digits = line.substr(space + 1);
      if (digits.empty() || digits.size() > 10 || !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
        bad("the rank is not a non-negative integer");
      const std::int64_t r = std::stoll(std::string(digits));
      if (r > INT32_MAX - 1) bad("rank " + std::string(digits) + " does not fit a 31-bit token id");
      if (!ranks_.insert(token, static_cast<std::int32_t>(r))) bad("the token is given a rank twice");
      max_rank = std::max(max_rank, r);
      entries.push_back({static_cast<std::int32_t>(r), {static_cast<std::uint32_t>(arena_.size()), static_cast<std::uint32_t>(token.size())}});
      arena_ += token;
    }
    if (entries.empty()) throw FormatError(name + ": no ranks in the file");
    size_table(max_rank, entries.size(), name, "rank");
    for (const auto& [r, span] : entries) {
      Span& slot = tokens_[static_cast<std::size_t>(r)];
      if (slot.length) throw FormatError(name + ": rank " + std::to_string(r) + " is given to two tokens");
      slot = span;
    }
    for (int b = 0; b < 256; ++b) {
      const std::int32_t id = ranks_.find(std::string(1, static_cast<char>(b)));
      if (id < 0) throw FormatError(name + ": byte " + std::to_string(b) + " has no rank; every byte must be a token");
      byte_rank_[static_cast<std::size_t>(b)] = id;
    }
  }

  // The id table spans 0..max id; gaps are allowed but may not outnumber the tokens, so
  // that a short file cannot ask for a table of billions of entries.
  void size_table(std::int64_t max_id, std::size_t count, const std::string& name, const char* what) {
    const std::ptrdiff_t limit = checked_add(checked_mul(static_cast<std::ptrdiff_t>(count), 2, "Tiktoken ids"), 1024, "Tiktoken ids");
    if (max_id >= limit)
      throw FormatError(name + ": " + what + " " + std::to_string(max_id) + " leaves more unused ids than the " +
                        std::to_string(count) + " tokens there are; ids must be nearly dense");
    if (static_cast<std::size_t>(max_id) + 1 > tokens_.size()) tokens_.resize(static_cast<std::size_t>(max_id) + 1);
  }

  void add_specials(std::vector<SpecialToken> specials, const std::string& name) {
    std::int64_t max_id = static_cast<std::int64_t>(tokens_.size()) - 1;
    for (std::size_t i = 0; i < specials.size(); ++i) {
      const SpecialToken& s = specials[i];
      if (s.text.empty()) throw FormatError(name + ": a special token has empty text");
      if (s.id < 0) throw FormatError(name + ": special token '" + s.text + "' has the negative id " + std::to_string(s.id));
      for (std::size_t j = 0; j < i; ++j)
        if (specials[j].text == s.text) throw FormatError(name + ": special token '" + s.text + "' is given twice");
      max_id = std::max<std::int64_t>(max_id, s.id);
    }
    size_table(max_id, ranks_.size() + specials.size(), name, "special token id");
    for (SpecialToken& s : specials) {
      Span& slot = tokens_[static_cast<std::size_t>(s.id)];
      if (slot.length)
        throw FormatError(name + ": special token '" + s.text + "' has id " + std::to_string(s.id) + ", which a rank already uses");
      slot = {static_cast<std::uint32_t>(arena_.size()), static_cast<std::uint32_t>(s.text.size())};
      arena_ += s.text;
      specials_.add(std::move(s.text), s.id);
    }
  }

  template <class Emit>
  void run(std::string_view text, const AllowedSpecial& allowed, Emit&& emit) const {
    Scratch& s = scratch();
    auto ordinary = [&](std::size_t begin, std::size_t end) {
      const std::string_view segment = text.substr(begin, end - begin);
      split_by_pattern(pattern_, segment, [&](std::size_t b, std::size_t e) { encode_piece(segment, b, e, begin, s, emit); });
    };
    specials_.split(text, allowed, ordinary, [&](std::int32_t id, std::size_t b, std::size_t e) { emit(id, b, e); });
  }

  // One piece [b, e) of `segment`; offsets reported relative to the whole text (+ base).
  template <class Emit>
  void encode_piece(std::string_view segment, std::size_t b, std::size_t e, std::size_t base, Scratch& s, Emit& emit) const {
    const std::string_view piece = segment.substr(b, e - b);
    if (piece.size() == 1) return emit(byte_rank_[static_cast<unsigned char>(piece[0])], base + b, base + e);
    if (const std::int32_t whole = ranks_.find(piece); whole >= 0) return emit(whole, base + b, base + e);
    const auto n = static_cast<std::uint32_t>(piece.size());
    if (n <= 64)
      merge_scan(piece, s);
    else
      merge_heap(piece, s);
    if (n > 64) {
      for (std::int32_t i = 0; i >= 0; i = s.next[static_cast<std::size_t>(i)]) {
        const std::int32_t j = s.next[static_cast<std::size_t>(i)];
        const std::uint32_t from = s.start[static_cast<std::size_t>(i)], to = j < 0 ? n : s.start[static_cast<std::size_t>(j)];
        emit(ranks_.find(piece.substr(from, to - from)), base + b + from, base + b + to);
      }
      return;
    }
    for (std::size_t i = 0; i + 1 < s.start.size(); ++i) {
      const std::uint32_t from = s.start[i], to = s.start[i + 1];
      emit(ranks_.find(piece.substr(from, to - from)), base + b + from, base + b + to);
    }
  }

  // Short pieces (tiktoken's own loop): parts as start offsets, each with the rank of it
  // merged with the next; merge the lowest, leftmost, until none is a token.
  void merge_scan(std::string_view piece, Scratch& s) const {
    const auto n = static_cast<std::uint32_t>(piece.size());
    s.start.resize(n + 1);
    s.rank.resize(n);
    for (std::uint32_t i = 0; i <= n; ++i) s.start[i] = i;
    auto pair_rank = [&](std::size_t i) {  // parts i and i + 1
      return i + 2 < s.start.size() ? ranks_.find(piece.substr(s.start[i], s.start[i + 2] - s.start[i])) : -1;
    };
    for (std::size_t i = 0; i + 1 < n; ++i) s.rank[i] = pair_rank(i);
    s.rank[n - 1] = -1;
    for (;;) {
      std::size_t best = 0;
      std::int32_t best_rank = -1;
      const std::size_t parts = s.start.size() - 1;
      for (std::size_t i = 0; i + 1 < parts; ++i)
        if (s.rank[i] >= 0 && (best_rank < 0 || s.rank[i] < best_rank)) best_rank = s.rank[i], best = i;
      if (best_rank < 0) return;
      s.start.erase(s.start.begin() + static_cast<std::ptrdiff_t>(best) + 1);
      s.rank.erase(s.rank.begin() + static_cast<std::ptrdiff_t>(best) + 1);
      s.rank[best] = pair_rank(best);
      if (best > 0) s.rank[best - 1] = pair_rank(best - 1);
    }
  }

  // Long pieces: the same order of merges through a heap of (rank, left start); an entry
  // is stale once either part has changed.
  void merge_heap(std::string_view piece, Scratch& s) const {
    using Candidate = Scratch::Candidate;
    const auto n = static_cast<std::int32_t>(piece.size());
    s.start.resize(static_cast<std::size_t>(n));
    s.next.resize(static_cast<std::size_t>(n));
    s.prev.resize(static_cast<std::size_t>(n));
    for (std::int32_t i = 0; i < n; ++i) {
      s.start[static_cast<std::size_t>(i)] = static_cast<std::uint32_t>(i);
      s.next[static_cast<std::size_t>(i)] = i + 1 < n ? i + 1 : -1;
      s.prev[static_cast<std::size_t>(i)] = i - 1;
    }
    auto end_of = [&](std::int32_t i) {
      const std::int32_t j = s.next[static_cast<std::size_t>(i)];
      return j < 0 ? static_cast<std::uint32_t>(n) : s.start[static_cast<std::size_t>(j)];
    };
    auto later = [](const Candidate& a, const Candidate& b) { return a.rank != b.rank ? a.rank > b.rank : a.left > b.left; };
    s.heap.clear();
    auto push = [&](std::int32_t i) {
      const std::int32_t j = s.next[static_cast<std::size_t>(i)];
      if (j < 0) return;
      const std::uint32_t from = s.start[static_cast<std::size_t>(i)], to = end_of(j);
      const std::int32_t r = ranks_.find(piece.substr(from, to - from));
      if (r < 0) return;
      s.heap.push_back({r, static_cast<std::uint32_t>(i), static_cast<std::uint32_t>(j), to});
      std::push_heap(s.heap.begin(), s.heap.end(), later);
    };
    for (std::int32_t i = 0; i + 1 < n; ++i) push(i);
    while (!s.heap.empty()) {
      std::pop_heap(s.heap.begin(), s.heap.end(), later);
      const Candidate c = s.heap.back();
      s.heap.pop_back();
      const auto i = static_cast<std::int32_t>(c.left), j = static_cast<std::int32_t>(c.right);
      if (s.prev[static_cast<std::size_t>(i)] == -2 || s.next[static_cast<std::size_t>(i)] != j || end_of(j) != c.right_end) continue;
      s.next[static_cast<std::size_t>(i)] = s.next[static_cast<std::size_t>(j)];
      if (s.next[static_cast<std::size_t>(j)] >= 0) s.prev[static_cast<std::size_t>(s.next[static_cast<std::size_t>(j)])] = i;
      s.prev[static_cast<std::size_t>(j)] = -2;  // consumed
      push(i);
      if (s.prev[static_cast<std::size_t>(i)] >= 0) push(s.prev[static_cast<std::size_t>(i)]);
    }
  }

  SplitPattern pattern_ = SplitPattern::cl100k;
  detail::StringIdMap ranks_;            // token bytes → rank
  std::vector<Span> tokens_;             // id → bytes in arena_ (length 0: unused id)
  std::string arena_;
  std::array<std::int32_t, 256> byte_rank_{};
  detail::SpecialTokenSet specials_;
};

}  // namespace mmm
