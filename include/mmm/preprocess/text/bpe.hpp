#pragma once
// GPT-2 style byte-level BPE: `vocab.json` + `merges.txt`, or a `tokenizer.json` whose
// model.type is "BPE". Text is split by GPT-2's pre-tokenizer pattern
//     's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// (hand-written here, no regex engine), then each piece's bytes are merged by rank.
//
// Vocabulary strings are stored in GPT-2's printable byte alphabet (bytes_to_unicode);
// at load they are mapped back to raw bytes, so encoding works on the input bytes
// directly and merges are looked up by id pair, not by string. Invalid UTF-8 is encoded
// byte for byte (the pre-tokenizer classes an invalid byte like a symbol) and decoding
// replaces invalid sequences as Python's bytes.decode("utf-8", "replace") does.
// Not supported: added-token splitting before BPE, dropout, subword prefixes/suffixes.

#include <algorithm>
#include <array>
#include <climits>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "mmm/core/errors.hpp"
#include "mmm/io/json.hpp"
#include "mmm/io/mapped_file.hpp"
#include "mmm/preprocess/text/piece_table.hpp"
#include "mmm/preprocess/text/token_batch.hpp"
#include "mmm/preprocess/text/unicode.hpp"
#include "mmm/preprocess/text/utf8.hpp"

namespace mmm {

namespace utf8 {
// Python's errors="replace": one U+FFFD per maximal ill-formed subsequence (a truncated
// but well-begun sequence is one replacement, not one per byte).
inline std::string sanitize_maximal(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    const Decoded d = decode(s, i);
    if (d.valid) {
      out.append(s.substr(i, static_cast<std::size_t>(d.length)));
      i += static_cast<std::size_t>(d.length);
      continue;
    }
    const auto lead = static_cast<unsigned char>(s[i]);
    std::size_t need = lead >= 0xC2 && lead <= 0xDF ? 1 : lead >= 0xE0 && lead <= 0xEF ? 2 : lead >= 0xF0 && lead <= 0xF4 ? 3 : 0;
    std::size_t k = 1;
    for (std::size_t j = 1; j <= need && i + j < s.size(); ++j) {
      const auto c = static_cast<unsigned char>(s[i + j]);
      unsigned char lo = 0x80, hi = 0xBF;
      if (j == 1) {
        if (lead == 0xE0) lo = 0xA0;
        if (lead == 0xED) hi = 0x9F;
        if (lead == 0xF0) lo = 0x90;
        if (lead == 0xF4) hi = 0x8F;
      }
      if (c < lo || c > hi) break;
      k = j + 1;
    }
    out.append(replacement_utf8);
    i += k;
  }
  return out;
}
}  // namespace utf8

class ByteLevelBpe : public EncodeReturning<ByteLevelBpe> {
 public:
  // GPT-2's files: vocab.json (token → id) and merges.txt (one "left right" per line,
  // an optional "#version" first line).
  static ByteLevelBpe load(const std::string& vocab_json_path, const std::string& merges_path) {
    return from_vocab_and_merges(read_file(vocab_json_path), read_file(merges_path), vocab_json_path, merges_path);
  }
  // The same from the two files' contents; the names are what errors call them.
  static ByteLevelBpe from_vocab_and_merges(std::string_view vocab_json, std::string_view merges,
                                            const std::string& vocab_json_path = "vocab.json",
                                            const std::string& merges_path = "merges.txt") {
    ByteLevelBpe bpe;
    bpe.read_vocab(parse_json(vocab_json, vocab_json_path), vocab_json_path);
    std::vector<std::pair<std::string, std::string>> pairs;
    std::size_t line_no = 0;
    for (std::size_t pos = 0; pos < merges.size();) {
      std::size_t end = merges.find('\n', pos);
      if (end == std::string_view::npos) end = merges.size();
      std::string_view line = merges.substr(pos, end - pos);
      pos = end + 1;
      ++line_no;
      if (line.ends_with('\r')) line.remove_suffix(1);
      if (line.empty() || (line_no == 1 && line.starts_with("#version"))) continue;
      const std::size_t space = line.find(' ');
      if (space == std::string_view::npos || space == 0 || space + 1 == line.size() ||
          line.find(' ', space + 1) != std::string_view::npos)
        throw FormatError(merges_path + ": line " + std::to_string(line_no) + " is not two tokens separated by one space");
      pairs.emplace_back(std::string(line.substr(0, space)), std::string(line.substr(space + 1)));
    }
    bpe.read_merges(pairs, merges_path, "line ");
    return bpe;
  }

  // A Hugging Face tokenizer.json with model.type "BPE" (merges as "a b" strings or pairs).
  static ByteLevelBpe load_tokenizer_json(const std::string& path) {
    return from_tokenizer_json(read_file(path), path);
  }
  static ByteLevelBpe from_tokenizer_json(std::string_view text, const std::string& name = "tokenizer.json") {
    const nlohmann::json j = parse_json(text, name);
    if (!j.is_object() || !j.contains("model") || !j["model"].is_object())
      throw FormatError(name + ": no \"model\" object");
    const auto& model = j["model"];
    if (!model.contains("type") || model["type"] != "BPE")
      throw FormatError(name + ": model.type is " + (model.contains("type") ? model["type"].dump() : "missing") +
                        ", expected \"BPE\"");
    for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"})
      if (model.contains(key) && model[key].is_string() && !model[key].get<std::string>().empty())
        throw FormatError(name + ": model." + key + " is not supported by the byte-level BPE reader");
    if (!model.contains("vocab")) throw FormatError(name + ": model.vocab is missing");
    ByteLevelBpe bpe;
    bpe.read_vocab(model["vocab"], name + ": model.vocab");
    std::vector<std::pair<std::string, std::string>> pairs;
    if (model.contains("merges")) {
      const auto& merges = model["merges"];
      if (!merges.is_array()) throw FormatError(name + ": model.merges is not an array");
      for (std::size_t i = 0; i < merges.size(); ++i) {
        const auto& m = merges[i];
        const std::string where = name + ": model.merges[" + std::to_string(i) + "]";
        if (m.is_string()) {
          const std::string s = m.get<std::string>();
          const std::size_t space = s.find(' ');
          if (space == std::string::npos || s.find(' ', space + 1) != std::string::npos || space == 0 || space + 1 == s.size())
            throw FormatError(where + " is not two tokens separated by one space");
          pairs.emplace_back(s.substr(0, space), s.substr(space + 1));
        } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
          pairs.emplace_back(m[0].get<std::string>(), m[1].get<std::string>());
        } else {
          throw FormatError(where + " is neither \"a b\" nor [\"a\", \"b\"]");
        }
      }
    }
    bpe.read_merges(pairs, name, "model.merges[");
    if (j.contains("added_tokens") && j["added_tokens"].is_array()) {
      // Ids must leave no gap, so none can pass the vocabulary plus the added tokens: a
      // larger one is refused before it sizes a table (id 2^31 - 1 asked for 64 GB).
      const std::size_t id_limit = bpe.token_bytes_.size() + j["added_tokens"].size();
      for (const auto& t : j["added_tokens"]) {
        if (!t.is_object() || !t.contains("id") || !t.contains("content") || !t["id"].is_number_integer() ||
            !t["content"].is_string())
          throw FormatError(name + ": an added_tokens entry lacks an integer id or a string content");
        const auto id = t["id"].get<std::int64_t>();
        if (id < 0 || static_cast<std::uint64_t>(id) >= id_limit)
          throw FormatError(name + ": added token id " + std::to_string(id) + " is outside [0, " + std::to_string(id_limit) +
                            "): the model's vocabulary and the added tokens cannot reach it without a gap");
        if (static_cast<std::size_t>(id) >= bpe.token_bytes_.size()) bpe.token_bytes_.resize(static_cast<std::size_t>(id) + 1);
        if (bpe.token_bytes_[static_cast<std::size_t>(id)].empty())
          bpe.token_bytes_[static_cast<std::size_t>(id)] = t["content"].get<std::string>();
      }
    }
    for (std::size_t i = 0; i < bpe.token_bytes_.size(); ++i)
      if (bpe.token_bytes_[i].empty()) throw FormatError(name + ": no token has id " + std::to_string(i));
    if (j.contains("padding") && j["padding"].is_object() && j["padding"].contains("pad_id") &&
        j["padding"]["pad_id"].is_number_integer()) {
      // Read wide and checked before narrowing: 4294967301 was read as 5.
      const auto& pad = j["padding"]["pad_id"];
      const std::int64_t pad_id = pad.is_number_unsigned() && pad.get<std::uint64_t>() > INT64_MAX ? INT64_MAX : pad.get<std::int64_t>();
      if (pad_id < -1 || pad_id >= static_cast<std::int64_t>(bpe.size()))
        throw FormatError(name + ": padding.pad_id " + pad.dump() + " is outside the vocabulary of " + std::to_string(bpe.size()));
      bpe.pad_id_ = static_cast<std::int32_t>(pad_id);
    }
    return bpe;
  }

  using EncodeReturning<ByteLevelBpe>::encode;
  // Replaces `ids`; reusing the vector makes repeated calls allocation-free.
  void encode(std::string_view text, std::vector<std::int32_t>& ids) const {
    ids.clear();
    Scratch& s = scratch();
    pretokenize(text, [&](std::size_t begin, std::size_t end) {
      merge_piece(text, begin, end, s, [&](std::int32_t id, std::size_t, std::size_t) { ids.push_back(id); });
    });
  }
  Encoding encode_with_offsets(std::string_view text) const {
    Encoding e;
    Scratch& s = scratch();
    pretokenize(text, [&](std::size_t begin, std::size_t end) {
      merge_piece(text, begin, end, s, [&](std::int32_t id, std::size_t b, std::size_t en) {
        e.ids.push_back(id);
        e.offsets.push_back({static_cast<std::uint32_t>(b), static_cast<std::uint32_t>(en)});
      });
    });
    return e;
  }
  // The pre-tokenizer's pieces, as byte ranges of the input.
  std::vector<TokenSpan> pre_tokens(std::string_view text) const {
    std::vector<TokenSpan> out;
    pretokenize(text, [&](std::size_t b, std::size_t e) {
      out.push_back({static_cast<std::uint32_t>(b), static_cast<std::uint32_t>(e)});
    });
    return out;
  }

  std::string decode(std::span<const std::int32_t> ids) const {
    std::string bytes;
    for (std::int32_t id : ids) {
      detail::check_decode_id(id, size(), "ByteLevelBpe::decode");
      bytes += token_bytes_[static_cast<std::size_t>(id)];
    }
    return utf8::sanitize_maximal(bytes);
  }

  std::size_t size() const noexcept { return token_bytes_.size(); }
  std::int32_t pad_id() const noexcept { return pad_id_; }
  // The raw bytes a token stands for.
  const std::string& token_bytes(std::int32_t id) const {
    detail::check_decode_id(id, size(), "ByteLevelBpe::token_bytes");
    return token_bytes_[static_cast<std::size_t>(id)];
  }
  // The id of a token given in the vocabulary's printable alphabet, or -1.
  std::int32_t token_to_id(std::string_view token) const {
    std::string raw;
    return to_bytes(token, raw) ? by_bytes_.find(raw) : -1;
  }
  std::size_t merge_count() const noexcept { return merges_.size(); }

  // GPT-2's bytes_to_unicode: every byte gets a printable code point.
  static std::array<char32_t, 256> byte_alphabet() {
    std::array<char32_t, 256> map{};
    char32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      map[static_cast<std::size_t>(b)] = printable ? static_cast<char32_t>(b) : next++;
    }
    return map;
  }

 private:
  struct Scratch {
    std::vector<std::int32_t> id, next, prev, rank, merged;
    struct Candidate {
      std::int32_t rank, left, left_id, right_id;
    };
    std::vector<Candidate> heap;
  };
  static Scratch& scratch() {
    thread_local Scratch s;
    return s;
  }

  static std::string read_file(const std::string& path) {
    MappedFile f(path);
    return std::string(reinterpret_cast<const char*>(f.bytes().data()), f.size());
  }
  static nlohmann::json parse_json(std::string_view text, const std::string& name) {
    return parse_json_document(text, name);  // depth and NUL limits: io/json.hpp
  }

  // Printable-alphabet token → raw bytes; false if a code point is outside the alphabet.
  static bool to_bytes(std::string_view token, std::string& raw) {
    static const std::array<std::int16_t, 512> inverse = [] {
      std::array<std::int16_t, 512> inv;
      inv.fill(-1);
      const auto map = byte_alphabet();
      for (int b = 0; b < 256; ++b) inv[map[static_cast<std::size_t>(b)]] = static_cast<std::int16_t>(b);
      return inv;
    }();
    raw.clear();
    for (std::size_t i = 0; i < token.size();) {
      const utf8::Decoded d = utf8::decode(token, i);
      if (!d.valid || d.code >= 512 || inverse[d.code] < 0) return false;
      raw += static_cast<char>(inverse[d.code]);
      i += static_cast<std::size_t>(d.length);
    }
    return true;
  }

  void read_vocab(const nlohmann::json& vocab, const std::string& where) {
    if (!vocab.is_object()) throw FormatError(where + ": the vocabulary is not a JSON object of token → id");
    token_bytes_.assign(vocab.size(), std::string());
    std::string raw;
    for (const auto& [token, id_json] : vocab.items()) {
      if (!id_json.is_number_integer()) throw FormatError(where + ": the id of '" + token + "' is not an integer");
      const auto id = id_json.get<std::int64_t>();
      if (id < 0 || static_cast<std::uint64_t>(id) >= vocab.size())
        throw FormatError(where + ": token '" + token + "' has id " + std::to_string(id) + ", outside 0.." +
                          std::to_string(vocab.size() - 1));
      if (token.empty()) throw FormatError(where + ": the empty string is not a token");
      std::string& slot = token_bytes_[static_cast<std::size_t>(id)];
      if (!slot.empty()) throw FormatError(where + ": id " + std::to_string(id) + " is given to two tokens");
      if (to_bytes(token, raw)) {
        slot = raw;
        by_bytes_.insert(raw, static_cast<std::int32_t>(id));
      } else {
        slot = token;  // outside the byte alphabet: decodes as itself, never produced by BPE
      }
    }
    for (int b = 0; b < 256; ++b) {
      const std::int32_t id = by_bytes_.find(std::string(1, static_cast<char>(b)));
      if (id < 0) {
        std::string printable;
        utf8::append(printable, byte_alphabet()[static_cast<std::size_t>(b)]);
        throw FormatError(where + ": byte " + std::to_string(b) + " ('" + printable + "') has no token");
      }
      byte_id_[static_cast<std::size_t>(b)] = id;
    }
  }

  void read_merges(const std::vector<std::pair<std::string, std::string>>& pairs, const std::string& name,
                   const std::string& what) {
    std::string a, b;
    for (std::size_t i = 0; i < pairs.size(); ++i) {
      auto where = [&] {
        return name + ": " + what + std::to_string(what == "line " ? i + 1 : i) + (what == "line " ? "" : "]");
      };
      if (!to_bytes(pairs[i].first, a) || !to_bytes(pairs[i].second, b))
        throw FormatError(where() + ": merge '" + pairs[i].first + " " + pairs[i].second + "' has characters outside the byte alphabet");
      const std::int32_t left = by_bytes_.find(a), right = by_bytes_.find(b), merged = by_bytes_.find(a + b);
      if (left < 0 || right < 0 || merged < 0)
        throw FormatError(where() + ": merge '" + pairs[i].first + " " + pairs[i].second + "' uses or makes a token not in the vocabulary");
      merges_.insert(left, right, {static_cast<std::int32_t>(i), merged});
    }
  }

  // ---- GPT-2 pre-tokenizer ----------------------------------------------------------

  enum Class : std::uint8_t { letter, number, space, other };
  static Class class_of(char32_t c) noexcept {
    const std::uint8_t p = unicode::properties(c);
    if (p & unicode::letter) return letter;
    if (p & unicode::number) return number;
    if (p & unicode::space) return space;
    return other;
  }

  template <class Visit>
  static void pretokenize(std::string_view text, Visit&& visit) {
    const std::size_t n = text.size();
    auto at = [&](std::size_t i) -> std::pair<Class, std::size_t> {  // class, byte length
      if (i >= n) return {space, 0};
      const auto b = static_cast<unsigned char>(text[i]);
      if (b < 0x80) return {class_of(b), 1};
      const utf8::Decoded d = utf8::decode(text, i);
      return {d.valid ? class_of(d.code) : other, static_cast<std::size_t>(d.length)};
    };
    auto run = [&](std::size_t i, Class c) {  // end of the run of class c starting at i
      while (i < n) {
        const auto [ci, len] = at(i);
        if (ci != c) break;
        i += len;
      }
      return i;
    };
    std::size_t i = 0;
    while (i < n) {
      const char c0 = text[i];
      if (c0 == '\'' && i + 1 < n) {
        const std::string_view rest = text.substr(i + 1, 2);
        std::size_t len = 0;
        if (rest.starts_with("re") || rest.starts_with("ve") || rest.starts_with("ll")) len = 3;
        else if (rest[0] == 's' || rest[0] == 't' || rest[0] == 'm' || rest[0] == 'd') len = 2;
        if (len) {
          visit(i, i + len);
          i += len;
          continue;
        }
      }
      auto [cls, len] = at(i);
      std::size_t start = i;
      if (c0 == ' ' && i + 1 < n) {
        const auto [next_cls, next_len] = at(i + 1);
        if (next_cls != space) {
          // " ?X+" with the optional space taken.
          const std::size_t end = run(i + 1, next_cls);
          visit(start, end);
          i = end;
          continue;
        }
      }
      if (cls != space) {
        const std::size_t end = run(i, cls);
        visit(start, end);
        i = end;
        continue;
      }
      // Whitespace: \s+(?!\S) leaves the last space for the next word; else \s+.
      const std::size_t end = run(i, space);
      if (end == n) {
        visit(start, end);
        i = end;
        continue;
      }
      // The last whitespace character of the run starts the next token.
      std::size_t last = i, p = i;
      while (p < end) {
        last = p;
        p += at(p).second;
      }
      if (last > start) {
        visit(start, last);
        i = last;
      } else {
        visit(start, end);
        i = end;
      }
    }
  }

  // ---- merging ----------------------------------------------------------------------

  template <class Emit>
  void merge_piece(std::string_view text, std::size_t begin, std::size_t end, Scratch& s, Emit&& emit) const {
    const auto n = static_cast<std::int32_t>(end - begin);
    if (n == 1) {
      emit(byte_id_[static_cast<unsigned char>(text[begin])], begin, end);
      return;
    }
    s.id.resize(static_cast<std::size_t>(n));
    s.next.resize(static_cast<std::size_t>(n));
    s.prev.resize(static_cast<std::size_t>(n));
    for (std::int32_t i = 0; i < n; ++i) {
      s.id[static_cast<std::size_t>(i)] = byte_id_[static_cast<unsigned char>(text[begin + static_cast<std::size_t>(i)])];
      s.next[static_cast<std::size_t>(i)] = i + 1 < n ? i + 1 : -1;
      s.prev[static_cast<std::size_t>(i)] = i - 1;
    }
    if (n <= 48)
      merge_scan(n, s);
    else
      merge_heap(n, s);
    for (std::int32_t i = 0; i >= 0;) {
      const std::int32_t next = s.next[static_cast<std::size_t>(i)];
      emit(s.id[static_cast<std::size_t>(i)], begin + static_cast<std::size_t>(i), next < 0 ? end : begin + static_cast<std::size_t>(next));
      i = next;
    }
  }

  // Short pieces: keep each adjacent pair's rank, take the leftmost lowest each round.
  void merge_scan(std::int32_t n, Scratch& s) const {
    s.rank.resize(static_cast<std::size_t>(n));
    s.merged.resize(static_cast<std::size_t>(n));
    auto update = [&](std::int32_t i) {
      const std::int32_t j = s.next[static_cast<std::size_t>(i)];
      const auto v = j < 0 ? detail::PairMap::Value{} : merges_.find(s.id[static_cast<std::size_t>(i)], s.id[static_cast<std::size_t>(j)]);
      s.rank[static_cast<std::size_t>(i)] = v.rank < 0 ? INT32_MAX : v.rank;
      s.merged[static_cast<std::size_t>(i)] = v.merged;
    };
    for (std::int32_t i = 0; i < n; ++i) update(i);
    for (;;) {
      std::int32_t best = -1, best_rank = INT32_MAX;
      for (std::int32_t i = 0; i >= 0; i = s.next[static_cast<std::size_t>(i)])
        if (s.rank[static_cast<std::size_t>(i)] < best_rank) best_rank = s.rank[static_cast<std::size_t>(i)], best = i;
      if (best < 0) return;
      const std::int32_t right = s.next[static_cast<std::size_t>(best)];
      s.id[static_cast<std::size_t>(best)] = s.merged[static_cast<std::size_t>(best)];
      s.next[static_cast<std::size_t>(best)] = s.next[static_cast<std::size_t>(right)];
      if (s.next[static_cast<std::size_t>(right)] >= 0) s.prev[static_cast<std::size_t>(s.next[static_cast<std::size_t>(right)])] = best;
      update(best);
      if (s.prev[static_cast<std::size_t>(best)] >= 0) update(s.prev[static_cast<std::size_t>(best)]);
    }
  }

  // Long pieces: a heap of candidate merges ordered by (rank, position); stale entries
  // are recognized by their recorded ids.
  void merge_heap(std::int32_t n, Scratch& s) const {
    using Candidate = Scratch::Candidate;
    auto later = [](const Candidate& a, const Candidate& b) { return a.rank != b.rank ? a.rank > b.rank : a.left > b.left; };
    s.heap.clear();
    auto push = [&](std::int32_t i) {
      const std::int32_t j = s.next[static_cast<std::size_t>(i)];
      if (j < 0) return;
      const auto v = merges_.find(s.id[static_cast<std::size_t>(i)], s.id[static_cast<std::size_t>(j)]);
      if (v.rank < 0) return;
      s.heap.push_back({v.rank, i, s.id[static_cast<std::size_t>(i)], s.id[static_cast<std::size_t>(j)]});
      std::push_heap(s.heap.begin(), s.heap.end(), later);
    };
    for (std::int32_t i = 0; i + 1 < n; ++i) push(i);
    while (!s.heap.empty()) {
      std::pop_heap(s.heap.begin(), s.heap.end(), later);
      const Candidate c = s.heap.back();
      s.heap.pop_back();
      const std::int32_t i = c.left, j = s.next[static_cast<std::size_t>(i)];
      if (s.id[static_cast<std::size_t>(i)] != c.left_id || j < 0 || s.id[static_cast<std::size_t>(j)] != c.right_id ||
          s.prev[static_cast<std::size_t>(i)] == -2)
        continue;
      s.id[static_cast<std::size_t>(i)] = merges_.find(c.left_id, c.right_id).merged;
      s.next[static_cast<std::size_t>(i)] = s.next[static_cast<std::size_t>(j)];
      if (s.next[static_cast<std::size_t>(j)] >= 0) s.prev[static_cast<std::size_t>(s.next[static_cast<std::size_t>(j)])] = i;
      s.prev[static_cast<std::size_t>(j)] = -2;  // consumed
      push(i);
      if (s.prev[static_cast<std::size_t>(i)] >= 0) push(s.prev[static_cast<std::size_t>(i)]);
    }
  }

  std::vector<std::string> token_bytes_;  // id → raw bytes (or the literal text of tokens outside the alphabet)
  detail::StringIdMap by_bytes_;
  std::array<std::int32_t, 256> byte_id_{};
  detail::PairMap merges_;
  std::int32_t pad_id_ = -1;
};

}  // namespace mmm
