#pragma once
// GPT-2 style byte-level BPE: `vocab.json` + `merges.txt`, or a `tokenizer.json` holding
// exactly GPT-2's pipeline (a BPE model, the ByteLevel pre-tokenizer without a prefix space,
// no normalizer; anything else is refused — HfTokenizer reads every pipeline). Text is
// split by GPT-2's pre-tokenizer pattern (split_pattern.hpp, SplitPattern::gpt2), then each
// piece's bytes are merged by rank.
//
// Special tokens (<|endoftext|>, a tokenizer.json's added tokens) are plain text unless the
// call allows them (AllowedSpecial), as tiktoken's allowed_special; allowed, they become
// their ids wherever they occur and the text between them is encoded on its own.
//
// Vocabulary strings are stored in GPT-2's printable byte alphabet (bytes_to_unicode);
// at load they are mapped back to raw bytes, so encoding works on the input bytes
// directly and merges are looked up by id pair, not by string. Invalid UTF-8 is encoded
// byte for byte (the pre-tokenizer classes an invalid byte like a symbol) and decoding
// replaces invalid sequences as Python's bytes.decode("utf-8", "replace") does.
// Not supported: dropout, subword prefixes/suffixes.

#include <algorithm>
#include <array>
#include <climits>
#include <optional>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "mmm/core/checked.hpp"
#include "mmm/core/errors.hpp"
#include "mmm/io/json.hpp"
#include "mmm/io/mapped_file.hpp"
#include "mmm/preprocess/text/json_fields.hpp"
#include "mmm/preprocess/text/pair_merge.hpp"
#include "mmm/preprocess/text/piece_table.hpp"
#include "mmm/preprocess/text/special_splitting.hpp"
#include "mmm/preprocess/text/special_tokens.hpp"
#include "mmm/preprocess/text/split_pattern.hpp"
#include "mmm/preprocess/text/token_batch.hpp"
#include "mmm/preprocess/text/utf8.hpp"

namespace mmm {

class ByteLevelBpe : public EncodesWithSpecials<ByteLevelBpe> {
  friend class EncodesWithSpecials<ByteLevelBpe>;

 public:
  // GPT-2's files: vocab.json (token → id) and merges.txt (one "left right" per line,
  // an optional "#version" first line). The special tokens are GPT-2's <|endoftext|> when
  // the vocabulary has it, or the given ones (each must be in the vocabulary).
  static ByteLevelBpe load(const std::string& vocab_json_path, const std::string& merges_path,
                           std::optional<std::vector<std::string>> special_tokens = std::nullopt) {
    return from_vocab_and_merges(read_file(vocab_json_path), read_file(merges_path), vocab_json_path, merges_path,
                                 std::move(special_tokens));
  }
  // The same from the two files' contents; the names are what errors call them.
  static ByteLevelBpe from_vocab_and_merges(std::string_view vocab_json, std::string_view merges,
                                            const std::string& vocab_json_path = "vocab.json",
                                            const std::string& merges_path = "merges.txt",
                                            std::optional<std::vector<std::string>> special_tokens = std::nullopt) {
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
    const std::vector<std::string> specials = special_tokens.value_or(std::vector<std::string>{"<|endoftext|>"});
    for (const std::string& t : specials) {
      const std::int32_t id = bpe.token_to_id_raw(t);
      if (id >= 0) bpe.specials_.add(t, id);
      else if (special_tokens) throw FormatError(vocab_json_path + ": the special token '" + t + "' is not in the vocabulary");
    }
    return bpe;
  }

  // A Hugging Face tokenizer.json with model.type "BPE" (merges as "a b" strings or pairs).
  static ByteLevelBpe load_tokenizer_json(const std::string& path) {
    return from_tokenizer_json(read_file(path), path);
  }
  static ByteLevelBpe from_tokenizer_json(std::string_view text, const std::string& name = "tokenizer.json") {
    namespace jf = detail::json_fields;
    const nlohmann::json j = jf::parse(text, name);
    if (!j.is_object() || !j.contains("model") || !j["model"].is_object())
      throw FormatError(name + ": no \"model\" object");
    const auto& model = j["model"];
    if (!model.contains("type") || model["type"] != "BPE")
      throw FormatError(name + ": model.type is " + (model.contains("type") ? model["type"].dump() : "missing") +
                        ", expected \"BPE\"");
    check_gpt2_pipeline(j, name);
    for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"})
      if (model.contains(key) && model[key].is_string() && !model[key].get<std::string>().empty())
        throw FormatError(name + ": model." + key + " is not supported by the byte-level BPE reader");
    if (!model.contains("vocab")) throw FormatError(name + ": model.vocab is missing");
    ByteLevelBpe bpe;
    bpe.read_vocab(model["vocab"], name + ": model.vocab");
    bpe.ignore_merges_ = jf::boolean(model, "ignore_merges", false, name + ": model");
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
    if (const auto* added = jf::member(j, "added_tokens"); added && !added->is_null()) {
      if (!added->is_array()) throw FormatError(name + ": added_tokens is " + jf::show(*added) + ", expected an array");
      // Ids are dense: every id below the total has a token, so none can exceed it. The
      // bound comes first, before any table grows to the id.
      const std::ptrdiff_t total = checked_add(static_cast<std::ptrdiff_t>(bpe.token_bytes_.size()),
                                               static_cast<std::ptrdiff_t>(added->size()), "tokenizer.json added_tokens");
      for (std::size_t k = 0; k < added->size(); ++k) {
        const auto& t = (*added)[k];
        const std::string where = name + ": added_tokens[" + std::to_string(k) + "]";
        if (!t.is_object() || !t.contains("content") || !t["content"].is_string() || t["content"].get<std::string>().empty())
          throw FormatError(where + " has no non-empty string content");
        const std::string content = t["content"].get<std::string>();
        const auto id = static_cast<std::size_t>(jf::integer(jf::required(t, "id", where), where + ".id", 0, total - 1));
        if (id >= bpe.token_bytes_.size()) bpe.token_bytes_.resize(id + 1);
        std::string& slot = bpe.token_bytes_[id];
        if (slot.empty()) slot = content;
        else if (slot != content && bpe.token_to_id_raw(content) != static_cast<std::int32_t>(id))
          throw FormatError(where + ": id " + std::to_string(id) + " is already the token '" + slot + "'");
        bpe.specials_.add(content, static_cast<std::int32_t>(id));
      }
    }
    for (std::size_t i = 0; i < bpe.token_bytes_.size(); ++i)
      if (bpe.token_bytes_[i].empty()) throw FormatError(name + ": no token has id " + std::to_string(i));
    if (const auto* padding = jf::member(j, "padding"); padding && padding->is_object())
      if (const auto* pad = jf::member(*padding, "pad_id"))
        bpe.pad_id_ = static_cast<std::int32_t>(
            jf::integer(*pad, name + ": padding.pad_id", 0, static_cast<std::int64_t>(bpe.size()) - 1));
    return bpe;
  }

  // The special tokens an AllowedSpecial may let through.
  const std::vector<SpecialToken>& special_tokens() const noexcept { return specials_.tokens(); }
  // GPT-2's pre-tokenizer, the only one byte-level BPE files come with here.
  SplitPattern pattern() const noexcept { return SplitPattern::gpt2; }

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
  using Scratch = detail::PairMergeScratch;
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

  // Printable-alphabet-free lookup of a token's raw bytes, or -1.
  std::int32_t token_to_id_raw(std::string_view raw) const noexcept { return by_bytes_.find(raw); }

  // GPT-2's tokenizer.json pipeline is the only one this reader implements.
  static void check_gpt2_pipeline(const nlohmann::json& j, const std::string& name) {
    namespace jf = detail::json_fields;
    auto refuse = [&](const std::string& field, const nlohmann::json& v) {
      throw FormatError(name + ": " + field + " is " + jf::show(v) +
                        "; ByteLevelBpe reads GPT-2's pipeline only (no normalizer, the ByteLevel pre-tokenizer without "
                        "a prefix space, a BPE model without byte fallback or dropout) — load the file with HfTokenizer");
    };
    if (const auto* n = jf::member(j, "normalizer"); n && !n->is_null()) refuse("normalizer", *n);
    // A piece is ByteLevel when it is an object whose "type" is; a missing "type" must not be
    // looked up with const operator[] (undefined behaviour in nlohmann::json, found by fuzzing).
    auto byte_level = [](const nlohmann::json& v) {
      const auto* type = jf::member(v, "type");
      return type && *type == "ByteLevel";
    };
    const auto* pre = jf::member(j, "pre_tokenizer");
    if (!pre || !byte_level(*pre) || jf::boolean(*pre, "add_prefix_space", true, name + ": pre_tokenizer") ||
        !jf::boolean(*pre, "use_regex", true, name + ": pre_tokenizer"))
      refuse("pre_tokenizer", pre ? *pre : nlohmann::json());
    if (const auto* d = jf::member(j, "decoder"); d && !d->is_null() && !byte_level(*d))
      refuse("decoder", *d);
    if (const auto* p = jf::member(j, "post_processor"); p && !p->is_null() && !byte_level(*p))
      refuse("post_processor", *p);
    const auto& model = j["model"];
    if (jf::boolean(model, "byte_fallback", false, name + ": model")) refuse("model.byte_fallback", model["byte_fallback"]);
    if (const auto* d = jf::member(model, "dropout"); d && !d->is_null() && !(d->is_number() && d->get<double>() == 0.0))
      refuse("model.dropout", *d);
  }

  template <class Emit>
  void run(std::string_view text, const AllowedSpecial& allowed, Emit&& emit) const {
    Scratch& s = scratch();
    auto ordinary = [&](std::size_t begin, std::size_t end) {
      const std::string_view segment = text.substr(begin, end - begin);
      split_by_pattern(pattern(), segment, [&](std::size_t b, std::size_t e) {
        if (ignore_merges_ && e - b > 1)
          if (const std::int32_t whole = by_bytes_.find(segment.substr(b, e - b)); whole >= 0)
            return emit(whole, begin + b, begin + e);
        merge_piece(segment, b, e, s, [&](std::int32_t id, std::size_t pb, std::size_t pe) { emit(id, begin + pb, begin + pe); });
      });
    };
    specials_.split(text, allowed, ordinary, [&](std::int32_t id, std::size_t b, std::size_t e) { emit(id, b, e); });
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
    detail::merge_pairs(merges_, n, s);
    for (std::int32_t i = 0; i >= 0;) {
      const std::int32_t next = s.next[static_cast<std::size_t>(i)];
      emit(s.id[static_cast<std::size_t>(i)], begin + static_cast<std::size_t>(i), next < 0 ? end : begin + static_cast<std::size_t>(next));
      i = next;
    }
  }

  std::vector<std::string> token_bytes_;  // id → raw bytes (or the literal text of tokens outside the alphabet)
  detail::StringIdMap by_bytes_;
  std::array<std::int32_t, 256> byte_id_{};
  detail::PairMap merges_;
  std::int32_t pad_id_ = -1;
  bool ignore_merges_ = false;  // tokenizer.json model.ignore_merges: a piece in the vocabulary is one token
  detail::SpecialTokenSet specials_;
};

}  // namespace mmm
