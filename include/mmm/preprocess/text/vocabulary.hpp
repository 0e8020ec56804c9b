#pragma once
// Word and character vocabularies: token ↔ id with the special tokens pad, bos, eos and
// unk at fixed ids 0..3, built from text by frequency or loaded from a one-token-per-line
// file. Words are maximal runs of non-whitespace (ASCII whitespace and the Unicode space
// separators); characters are UTF-8 code points, invalid bytes counting as U+FFFD.

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "mmm/core/errors.hpp"
#include "mmm/io/mapped_file.hpp"
#include "mmm/preprocess/text/piece_table.hpp"
#include "mmm/preprocess/text/token_batch.hpp"
#include "mmm/preprocess/text/utf8.hpp"

namespace mmm {

struct SpecialTokens {
  std::string pad = "<pad>";
  std::string bos = "<bos>";
  std::string eos = "<eos>";
  std::string unk = "<unk>";
};

struct VocabularyOptions {
  std::size_t min_count = 1;  // tokens seen fewer times are left out (they encode as unk)
  std::size_t max_size = 0;   // total size including the specials; 0 = no limit
};

class Vocabulary : public EncodeReturning<Vocabulary> {
 public:
  enum class Unit { word, character };

  // An empty vocabulary holding only the special tokens, at ids 0 (pad), 1 (bos), 2 (eos), 3 (unk).
  explicit Vocabulary(Unit unit = Unit::word, SpecialTokens specials = {}) : unit_(unit) {
    for (const std::string* s : {&specials.pad, &specials.bos, &specials.eos, &specials.unk}) {
      if (s->empty()) throw RangeError("Vocabulary: special tokens must not be empty");
      if (find(*s) >= 0) throw RangeError("Vocabulary: special token '" + *s + "' is given twice");
      add(*s);
    }
  }

  // Most frequent tokens first; ties in order of first appearance.
  static Vocabulary build(std::span<const std::string_view> texts, Unit unit, VocabularyOptions options = {},
                          SpecialTokens specials = {}) {
    Vocabulary v(unit, std::move(specials));
    std::unordered_map<std::string, std::pair<std::size_t, std::size_t>> counts;  // count, first seen
    std::size_t order = 0;
    for (std::string_view text : texts)
      v.split(text, [&](std::string_view token, std::uint32_t, std::uint32_t) {
        auto [it, fresh] = counts.try_emplace(std::string(token), 0, order);
        order += fresh;
        ++it->second.first;
      });
    std::vector<std::pair<std::string, std::pair<std::size_t, std::size_t>>> sorted(counts.begin(), counts.end());
    std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
      return a.second.first != b.second.first ? a.second.first > b.second.first : a.second.second < b.second.second;
    });
    for (const auto& [token, count] : sorted) {
      if (count.first < options.min_count) break;
      if (options.max_size && v.size() >= options.max_size) break;
      if (v.find(token) < 0) v.add(token);
    }
    return v;
  }

  // One token per line, ids in line order; the special tokens must be among them.
  static Vocabulary load(const std::string& path, Unit unit, SpecialTokens specials = {}) {
    MappedFile file(path);
    return from_text(std::string_view(reinterpret_cast<const char*>(file.bytes().data()), file.size()), path, unit,
                     std::move(specials));
  }
  // The same from the file's contents; `path` names it in errors.
  static Vocabulary from_text(std::string_view text, const std::string& path, Unit unit, SpecialTokens specials = {}) {
    Vocabulary v(unit);
    v.tokens_.clear();
    v.ids_ = {};
    std::size_t line = 0;
    for (std::size_t pos = 0; pos < text.size();) {
      std::size_t end = text.find('\n', pos);
      if (end == std::string_view::npos) end = text.size();
      std::string_view token = text.substr(pos, end - pos);
      if (token.ends_with('\r')) token.remove_suffix(1);
      ++line;
      if (token.empty())
        throw FormatError(path + ": line " + std::to_string(line) + " is empty; a vocabulary has one token per line");
      if (!utf8::is_valid(token)) throw FormatError(path + ": line " + std::to_string(line) + " is not valid UTF-8");
      if (v.find(token) >= 0)
        throw FormatError(path + ": line " + std::to_string(line) + " repeats the token '" + std::string(token) + "'");
      v.add(token);
      pos = end + 1;
    }
    auto special = [&](const std::string& s, const char* what) {
      const std::int32_t id = v.find(s);
      if (id < 0) throw FormatError(path + ": the " + std::string(what) + " token '" + s + "' is not in the vocabulary");
      return id;
    };
    v.pad_ = special(specials.pad, "pad");
    v.bos_ = special(specials.bos, "bos");
    v.eos_ = special(specials.eos, "eos");
    v.unk_ = special(specials.unk, "unk");
    return v;
  }

  void save(const std::string& path) const {
    std::ofstream out(path, std::ios::binary);
    if (!out) throw IoError("cannot write '" + path + "'");
    for (const std::string& t : tokens_) out << t << '\n';
    if (!out) throw IoError("cannot write '" + path + "'");
  }

  // Adds a token (if new) and returns its id.
  std::int32_t add(std::string_view token) {
    if (token.empty()) throw RangeError("Vocabulary: a token must not be empty");
    if (const std::int32_t id = find(token); id >= 0) return id;
    const auto id = static_cast<std::int32_t>(tokens_.size());
    ids_.insert(token, id);
    tokens_.emplace_back(token);
    return id;
  }

  // The id of a token, or -1.
  std::int32_t find(std::string_view token) const noexcept { return ids_.find(token); }
  // The id of a token, or the unk id.
  std::int32_t id(std::string_view token) const noexcept {
    const std::int32_t i = find(token);
    return i >= 0 ? i : unk_;
  }
  const std::string& token(std::int32_t id) const {
    detail::check_decode_id(id, size(), "Vocabulary::token");
    return tokens_[static_cast<std::size_t>(id)];
  }

  using EncodeReturning<Vocabulary>::encode;
  // Replaces `ids`; reusing the vector avoids reallocating it.
  void encode(std::string_view text, std::vector<std::int32_t>& ids) const {
    ids.clear();
    split(text, [&](std::string_view token, std::uint32_t, std::uint32_t) { ids.push_back(id(token)); });
  }
  Encoding encode_with_offsets(std::string_view text) const {
    Encoding e;
    split(text, [&](std::string_view token, std::uint32_t begin, std::uint32_t end) {
      e.ids.push_back(id(token));
      e.offsets.push_back({begin, end});
    });
    return e;
  }
  // Words are joined by one space, characters directly; pad, bos and eos are dropped.
  std::string decode(std::span<const std::int32_t> ids) const {
    std::string out;
    for (std::int32_t i : ids) {
      detail::check_decode_id(i, size(), "Vocabulary::decode");
      if (i == pad_ || i == bos_ || i == eos_) continue;
      if (unit_ == Unit::word && !out.empty()) out += ' ';
      out += tokens_[static_cast<std::size_t>(i)];
    }
    return out;
  }

  std::size_t size() const noexcept { return tokens_.size(); }
  Unit unit() const noexcept { return unit_; }
  std::int32_t pad_id() const noexcept { return pad_; }
  std::int32_t bos_id() const noexcept { return bos_; }
  std::int32_t eos_id() const noexcept { return eos_; }
  std::int32_t unk_id() const noexcept { return unk_; }

 private:
  static bool is_space(char32_t c) noexcept {
    return c == ' ' || (c >= 0x09 && c <= 0x0D) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
  }

  template <class Visit>
  void split(std::string_view text, Visit&& visit) const {
    std::size_t word_begin = std::string_view::npos;
    std::string replaced;
    for (std::size_t i = 0; i < text.size();) {
      const utf8::Decoded d = utf8::decode(text, i);
      const auto n = static_cast<std::size_t>(d.length);
      if (unit_ == Unit::character) {
        visit(d.valid ? text.substr(i, n) : utf8::replacement_utf8, static_cast<std::uint32_t>(i),
              static_cast<std::uint32_t>(i + n));
      } else if (is_space(d.code)) {
        if (word_begin != std::string_view::npos) emit_word(text, word_begin, i, replaced, visit);
        word_begin = std::string_view::npos;
      } else if (word_begin == std::string_view::npos) {
        word_begin = i;
      }
      i += n;
    }
    if (word_begin != std::string_view::npos) emit_word(text, word_begin, text.size(), replaced, visit);
  }

  template <class Visit>
  static void emit_word(std::string_view text, std::size_t begin, std::size_t end, std::string& scratch, Visit& visit) {
    std::string_view word = text.substr(begin, end - begin);
    if (!utf8::is_valid(word)) {
      scratch = utf8::sanitize(word);
      word = scratch;
    }
    visit(word, static_cast<std::uint32_t>(begin), static_cast<std::uint32_t>(end));
  }

  Unit unit_;
  std::vector<std::string> tokens_;
  detail::StringIdMap ids_;
  std::int32_t pad_ = 0, bos_ = 1, eos_ = 2, unk_ = 3;
};

}  // namespace mmm
