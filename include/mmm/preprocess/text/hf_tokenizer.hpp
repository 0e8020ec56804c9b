#pragma once
// Hugging Face `tokenizer.json`, the whole pipeline, as the `tokenizers` library runs it:
//   added tokens split out of the raw text (those with normalized: false), the normalizer
//   on what is left, added tokens split out of the normalized text (normalized: true), the
//   pre-tokenizer, the model on each piece, truncation, and the post-processor's special
//   tokens; decode() maps ids back to token strings and runs the decoder.
// The pieces mmm implements are listed in hf/normalizers.hpp, hf/pre_tokenizers.hpp,
// hf/models.hpp, hf/post_processors.hpp and hf/decoders.hpp; a file using any other piece,
// or a field of the wrong type or range, is a FormatError naming the field and the value:
// what loads, encodes as the library does (tests/text/tokenizer_json.cpp checks it against
// the library itself, npm `tokenizers`).
//
// Ids of added tokens follow the library: a token already in the model's vocabulary keeps
// its id, the others are numbered after the vocabulary in file order; a file whose "id"
// says otherwise is refused. Offsets are byte ranges of the input (the library's, which
// reports characters). Invalid UTF-8 is read as one U+FFFD per invalid byte (the library
// only takes valid text). Padding in the file sets pad_id() for encode_batch; encode() does
// not pad. Only single sequences are encoded (no pairs). Numbers in the file (Unigram scores)
// are read as the library's JSON parser reads them, which is not always to the nearest double
// (hf/serde_json_number.hpp).
//
//   auto tok = mmm::HfTokenizer::load("tokenizer.json");
//   std::vector<std::int32_t> ids = tok.encode("Hello world");   // with the template's specials

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
#include "mmm/preprocess/text/hf/decoders.hpp"
#include "mmm/preprocess/text/hf/models.hpp"
#include "mmm/preprocess/text/hf/normalized.hpp"
#include "mmm/preprocess/text/hf/normalizers.hpp"
#include "mmm/preprocess/text/hf/post_processors.hpp"
#include "mmm/preprocess/text/hf/pre_tokenizers.hpp"
#include "mmm/preprocess/text/hf/serde_json_number.hpp"
#include "mmm/preprocess/text/json_fields.hpp"
#include "mmm/preprocess/text/token_batch.hpp"
#include "mmm/preprocess/text/utf8.hpp"

namespace mmm {

struct HfEncodeOptions {
  bool add_special_tokens = true;       // the post-processor's template (<s> ... </s>, [CLS] ... [SEP])
  bool special_tokens_as_text = false;  // the library's encode_special_tokens: specials are not split out
};

class HfTokenizer : public EncodeReturning<HfTokenizer> {
 public:
  static HfTokenizer load(const std::string& path) {
    MappedFile f(path);
    return from_json(std::string_view(reinterpret_cast<const char*>(f.bytes().data()), f.size()), path);
  }
  // `name` is what errors call the source.
  static HfTokenizer from_json(std::string_view text, const std::string& name = "tokenizer.json") {
    namespace jf = detail::json_fields;
    // Numbers as the library reads them (Unigram scores tie or not by their last bit).
    const jf::Json j = parse_json_document(text, name, detail::hf::serde_json_number);
    if (!j.is_object()) throw FormatError(name + ": the file is not a JSON object");
    HfTokenizer t;
    t.name_ = name;
    auto field = [&](const char* key) -> const jf::Json& {
      static const jf::Json null;
      const jf::Json* v = jf::member(j, key);
      return v ? *v : null;
    };
    t.model_ = detail::hf::Model::parse(jf::required(j, "model", name), name + ": model");
    t.normalizer_ = detail::hf::Normalizer::parse(field("normalizer"), name + ": normalizer");
    t.pre_tokenizer_ = detail::hf::PreTokenizer::parse(field("pre_tokenizer"), name + ": pre_tokenizer");
    t.post_processor_ = detail::hf::PostProcessor::parse(field("post_processor"), name + ": post_processor");
    t.decoder_ = detail::hf::Decoder::parse(field("decoder"), name + ": decoder");
    t.read_added_tokens(field("added_tokens"), name);
    t.read_truncation(field("truncation"), name + ": truncation");
    if (const jf::Json& padding = field("padding"); padding.is_object())
      if (const jf::Json* pad = jf::member(padding, "pad_id"))
        t.pad_id_ = static_cast<std::int32_t>(jf::integer(*pad, name + ": padding.pad_id", 0, static_cast<std::int64_t>(t.size()) - 1));
    for (std::int32_t id : t.post_processor_.before) t.check_id(id, name + ": post_processor");
    for (std::int32_t id : t.post_processor_.after) t.check_id(id, name + ": post_processor");
    return t;
  }

  using EncodeReturning<HfTokenizer>::encode;
  // Replaces `ids`; reusing the vector makes repeated calls allocation-free once warm.
  void encode(std::string_view text, std::vector<std::int32_t>& ids) const { encode(text, ids, HfEncodeOptions{}); }
  void encode(std::string_view text, std::vector<std::int32_t>& ids, const HfEncodeOptions& options) const {
    ids.clear();
    run(text, options, [&](const detail::hf::EncodedToken& t) { ids.push_back(t.id); });
  }
  // Offsets are byte ranges of the input; the template's special tokens have empty ones.
  Encoding encode_with_offsets(std::string_view text, const HfEncodeOptions& options = {}) const {
    Encoding e;
    run(text, options, [&](const detail::hf::EncodedToken& t) {
      e.ids.push_back(t.id);
      e.offsets.push_back({t.begin, t.end});
    });
    return e;
  }

  std::string decode(std::span<const std::int32_t> ids, bool skip_special_tokens = false) const {
    std::vector<std::string> tokens;
    tokens.reserve(ids.size());
    for (std::int32_t id : ids) {
      detail::check_decode_id(id, size(), "HfTokenizer::decode");
      const std::size_t k = static_cast<std::size_t>(id);
      if (k < added_of_id_.size() && added_of_id_[k] >= 0) {
        const Added& a = added_[static_cast<std::size_t>(added_of_id_[k])];
        if (!(skip_special_tokens && a.special)) tokens.push_back(a.normalized ? a.pattern : a.content);
        continue;
      }
      const std::string* t = model_.token(id);
      if (!t) throw RangeError("HfTokenizer::decode: token id " + std::to_string(id) + " has no token in " + name_);
      tokens.push_back(*t);
    }
    if (!decoder_.active()) {
      std::string out;
      for (std::size_t i = 0; i < tokens.size(); ++i) out += (i ? " " : "") + tokens[i];
      return out;
    }
    decoder_.decode_chain(tokens);
    std::string out;
    for (const std::string& t : tokens) out += t;
    return out;
  }

  // One past the largest id of the vocabulary and the added tokens.
  std::size_t size() const noexcept { return size_; }
  std::int32_t pad_id() const noexcept { return pad_id_; }
  // The id of a token (added tokens first, then the model's), or -1.
  std::int32_t token_to_id(std::string_view token) const noexcept {
    for (const Added& a : added_)
      if (a.content == token) return a.id;
    return model_.token_to_id(token);
  }
  // The string of an id, or an empty string for an id with none.
  std::string id_to_token(std::int32_t id) const {
    detail::check_decode_id(id, size(), "HfTokenizer::id_to_token");
    if (static_cast<std::size_t>(id) < added_of_id_.size() && added_of_id_[static_cast<std::size_t>(id)] >= 0)
      return added_[static_cast<std::size_t>(added_of_id_[static_cast<std::size_t>(id)])].content;
    const std::string* t = model_.token(id);
    return t ? *t : std::string();
  }

 private:
  struct Added {
    std::string content, pattern;  // pattern: what is matched (the normalized content for normalized tokens)
    std::int32_t id = -1;
    bool single_word = false, lstrip = false, rstrip = false, normalized = true, special = false;
  };

  void check_id(std::int32_t id, const std::string& where) const {
    if (id < 0 || static_cast<std::size_t>(id) >= size_)
      throw FormatError(where + ": token id " + std::to_string(id) + " is outside the vocabulary of " + std::to_string(size_));
  }

  void read_added_tokens(const detail::json_fields::Json& list, const std::string& name) {
    namespace jf = detail::json_fields;
    size_ = model_.id_limit();
    if (list.is_null()) return;
    if (!list.is_array()) throw FormatError(name + ": added_tokens is " + jf::show(list) + ", expected an array");
    // The library numbers tokens not in the vocabulary from the vocabulary's size on.
    std::int64_t next_id = static_cast<std::int64_t>(model_.entries());
    for (std::size_t k = 0; k < list.size(); ++k) {
      const jf::Json& t = list[k];
      const std::string where = name + ": added_tokens[" + std::to_string(k) + "]";
      if (!t.is_object()) throw FormatError(where + " is " + jf::show(t) + ", expected an object");
      Added a;
      a.content = jf::string(t, "content", "", where);
      a.special = jf::boolean(t, "special", false, where);
      a.single_word = jf::boolean(t, "single_word", false, where);
      a.lstrip = jf::boolean(t, "lstrip", false, where);
      a.rstrip = jf::boolean(t, "rstrip", false, where);
      a.normalized = jf::boolean(t, "normalized", !a.special, where);
      const std::int64_t file_id = jf::integer(jf::required(t, "id", where), where + ".id", 0, INT32_MAX);
      if (a.content.empty()) continue;  // the library ignores empty tokens
      if (!utf8::is_valid(a.content)) throw FormatError(where + ".content is not valid UTF-8");
      std::int32_t id = -1;
      for (const Added& b : added_)
        if (b.content == a.content) id = b.id;
      if (id < 0) id = model_.token_to_id(a.content);
      if (id < 0) id = static_cast<std::int32_t>(next_id++);
      if (file_id != id)
        throw FormatError(where + ".id is " + std::to_string(file_id) + ", but '" + a.content + "' gets id " +
                          std::to_string(id) + " (the vocabulary's, or the next after it and the added tokens before)");
      a.id = id;
      a.pattern = a.content;
      if (a.normalized && normalizer_.active()) {
        thread_local detail::hf::Buffer buf, tmp;
        thread_local std::vector<detail::hf::Piece> pieces;
        fill(a.content, buf, pieces);
        normalizer_.apply(buf, pieces, tmp);
        a.pattern = buf.text.substr(pieces[0].begin, pieces[0].end - pieces[0].begin);
      }
      bool replaced = false;
      for (Added& b : added_)
        if (b.content == a.content) b = a, replaced = true;
      if (!replaced) added_.push_back(a);
      size_ = std::max(size_, static_cast<std::size_t>(id) + 1);
    }
    added_of_id_.assign(size_, -1);
    for (std::size_t i = 0; i < added_.size(); ++i) added_of_id_[static_cast<std::size_t>(added_[i].id)] = static_cast<std::int32_t>(i);
    for (const Added& a : added_) (a.normalized ? normalized_added_ : raw_added_).push_back(&a - added_.data());
    for (auto* set : {&raw_added_, &normalized_added_})  // longest first: leftmost-longest matching
      std::stable_sort(set->begin(), set->end(), [&](std::size_t x, std::size_t y) { return added_[x].pattern.size() > added_[y].pattern.size(); });
    for (const Added& a : added_)
      if (!a.pattern.empty()) (a.normalized ? normalized_first_ : raw_first_)[static_cast<unsigned char>(a.pattern[0])] = true;
  }

  void read_truncation(const detail::json_fields::Json& j, const std::string& where) {
    namespace jf = detail::json_fields;
    if (j.is_null()) return;
    if (!j.is_object()) throw FormatError(where + " is " + jf::show(j) + ", expected an object");
    max_length_ = static_cast<std::size_t>(jf::integer(jf::required(j, "max_length", where), where + ".max_length", 0, INT32_MAX));
    const std::string direction = jf::string(j, "direction", "Right", where);
    if (direction != "Right" && direction != "Left") throw FormatError(where + ".direction is \"" + direction + "\", expected Right or Left");
    truncate_left_ = direction == "Left";
    const std::string strategy = jf::string(j, "strategy", "LongestFirst", where);
    if (strategy != "LongestFirst" && strategy != "OnlyFirst" && strategy != "OnlySecond")
      throw FormatError(where + ".strategy is \"" + strategy + "\", expected LongestFirst, OnlyFirst or OnlySecond");
    truncate_ = strategy != "OnlySecond";  // a single sequence is the first
  }

  // The input as a buffer: every byte aligned to its character; invalid bytes as U+FFFD.
  static void fill(std::string_view text, detail::hf::Buffer& buf, std::vector<detail::hf::Piece>& pieces) {
    buf.clear();
    for (std::size_t i = 0; i < text.size();) {
      const utf8::Decoded d = utf8::decode(text, i);
      const detail::hf::Align a{static_cast<std::uint32_t>(i), static_cast<std::uint32_t>(i + static_cast<std::size_t>(d.length))};
      if (d.valid) {
        buf.text.append(text.substr(i, static_cast<std::size_t>(d.length)));
        buf.align.insert(buf.align.end(), static_cast<std::size_t>(d.length), a);
      } else {
        buf.push(utf8::replacement_char, a);
      }
      i += static_cast<std::size_t>(d.length);
    }
    pieces.assign(1, {0, static_cast<std::uint32_t>(buf.size()), 0, static_cast<std::uint32_t>(text.size()), -1});
  }

  static bool word_char_before(std::string_view s, std::size_t at) {
    if (at == 0) return false;
    std::size_t b = at - 1;
    while (b > 0 && (static_cast<unsigned char>(s[b]) & 0xC0) == 0x80) --b;
    return unicode::has(utf8::decode(s, b).code, unicode::word);
  }
  static bool word_char_at(std::string_view s, std::size_t at) {
    return at < s.size() && unicode::has(utf8::decode(s, at).code, unicode::word);
  }

  // Splits the non-added pieces at the added tokens of one set (leftmost-longest, as the
  // library's Aho-Corasick), with single_word / lstrip / rstrip as it applies them.
  void split_added(detail::hf::Buffer& buf, std::vector<detail::hf::Piece>& pieces, const std::vector<std::size_t>& set,
                   const std::array<bool, 256>& first, const HfEncodeOptions& options) const {
    using detail::hf::Piece;
    thread_local std::vector<Piece> out;
    out.clear();
    auto push = [&](std::uint32_t b, std::uint32_t e, std::int32_t id) {
      if (b == e) return;
      const detail::hf::Align a = detail::hf::original_of(buf, b, e);
      out.push_back({b, e, a.begin, a.end, id});
    };
    for (const Piece& p : pieces) {
      if (p.id >= 0 || set.empty()) {
        if (!p.empty()) out.push_back(p);
        continue;
      }
      const std::string_view s = std::string_view(buf.text).substr(p.begin, p.end - p.begin);
      std::size_t start_offset = 0;
      for (std::size_t i = 0; i < s.size();) {
        const Added* hit = nullptr;
        if (first[static_cast<unsigned char>(s[i])])
          for (std::size_t k : set) {
            const Added& a = added_[k];
            if (s.compare(i, a.pattern.size(), a.pattern) == 0) {
              hit = &a;
              break;
            }
          }
        if (!hit) {
          ++i;
          continue;
        }
        std::size_t start = i, stop = i + hit->pattern.size();
        i = stop;
        if (options.special_tokens_as_text && hit->special) continue;
        if (hit->single_word && (word_char_before(s, start) || word_char_at(s, stop))) continue;
        if (hit->lstrip) {
          std::size_t b = start;
          while (b > 0) {
            std::size_t c = b - 1;
            while (c > 0 && (static_cast<unsigned char>(s[c]) & 0xC0) == 0x80) --c;
            if (!detail::hf::is_white_space(utf8::decode(s, c).code)) break;
            b = c;
          }
          start = std::max(b, start_offset);
        }
        if (hit->rstrip)
          while (stop < s.size() && detail::hf::is_white_space(utf8::decode(s, stop).code)) stop += static_cast<std::size_t>(utf8::decode(s, stop).length);
        push(p.begin + static_cast<std::uint32_t>(start_offset), p.begin + static_cast<std::uint32_t>(start), -1);
        push(p.begin + static_cast<std::uint32_t>(start), p.begin + static_cast<std::uint32_t>(stop), hit->id);
        start_offset = stop;
        i = std::max(i, stop);
      }
      push(p.begin + static_cast<std::uint32_t>(start_offset), p.end, -1);
    }
    detail::hf::swap_scratch(pieces, out);
  }

  struct Scratch {
    detail::hf::Buffer buf, tmp;
    std::vector<detail::hf::Piece> pieces;
    std::vector<detail::hf::EncodedToken> tokens;
  };
  static Scratch& scratch() {
    thread_local Scratch s;
    return s;
  }

  template <class Emit>
  void run(std::string_view text, const HfEncodeOptions& options, Emit&& emit) const {
    using namespace detail::hf;
    Scratch& s = scratch();
    fill(text, s.buf, s.pieces);
    split_added(s.buf, s.pieces, raw_added_, raw_first_, options);
    normalizer_.apply(s.buf, s.pieces, s.tmp);
    split_added(s.buf, s.pieces, normalized_added_, normalized_first_, options);
    pre_tokenizer_.apply(s.buf, s.pieces, s.tmp);
    s.tokens.clear();
    for (const Piece& p : s.pieces) {
      if (p.empty()) continue;
      if (p.id >= 0) {
        s.tokens.push_back({p.id, p.orig_begin, p.orig_end, std::string_view(s.buf.text).substr(p.begin, p.end - p.begin)});
        continue;
      }
      const std::string_view piece = std::string_view(s.buf.text).substr(p.begin, p.end - p.begin);
      model_.tokenize(piece, [&](const ModelToken& t) {
        const std::uint32_t b = std::min(t.begin, p.end - p.begin), e = std::min(t.end, p.end - p.begin);
        const Align a = original_of(s.buf, p.begin + b, p.begin + e);
        const std::string* token = model_.token(t.id);
        s.tokens.push_back({t.id, a.begin, a.end, token ? std::string_view(*token) : std::string_view()});
      });
    }
    if (truncate_) {
      const std::size_t added = options.add_special_tokens ? post_processor_.added_tokens() : 0;
      const std::size_t keep = max_length_ > added ? max_length_ - added : 0;
      if (s.tokens.size() > keep) {
        if (truncate_left_) s.tokens.erase(s.tokens.begin(), s.tokens.end() - static_cast<std::ptrdiff_t>(keep));
        else s.tokens.resize(keep);
      }
    }
    post_processor_.trim(s.tokens, text);
    if (options.add_special_tokens)
      for (std::int32_t id : post_processor_.before) emit(EncodedToken{id, 0, 0, {}});
    for (const EncodedToken& t : s.tokens) emit(t);
    if (options.add_special_tokens)
      for (std::int32_t id : post_processor_.after) emit(EncodedToken{id, 0, 0, {}});
  }

  std::string name_;
  detail::hf::Model model_;
  detail::hf::Normalizer normalizer_;
  detail::hf::PreTokenizer pre_tokenizer_;
  detail::hf::PostProcessor post_processor_;
  detail::hf::Decoder decoder_;
  std::vector<Added> added_;
  std::vector<std::int32_t> added_of_id_;  // id → index into added_, or -1
  std::vector<std::size_t> raw_added_, normalized_added_;  // longest pattern first
  std::array<bool, 256> raw_first_{}, normalized_first_{};  // bytes an added token of each set starts with
  std::size_t size_ = 0, max_length_ = 0;
  bool truncate_ = false, truncate_left_ = false;
  std::int32_t pad_id_ = -1;
};

}  // namespace mmm
