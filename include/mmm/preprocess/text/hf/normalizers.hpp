#pragma once
// tokenizer.json "normalizer": NFD, NFKD, NFC, NFKC, Lowercase, Strip, StripAccents,
// Prepend, Replace (a string pattern), BertNormalizer, Nmt and Sequence, with the
// semantics and offsets of Hugging Face's `tokenizers`. Any other type, a regex Replace,
// or a field of the wrong type is a FormatError naming the field and its value.
//
// Normalization data: Python 3.11's unicodedata (Unicode 14); `tokenizers` normalizes with
// Unicode 9 tables, so code points assigned after Unicode 9 may normalize differently
// there (none of them is in the parity corpus).

#include <cstdint>
#include <string>
#include <vector>

#include "mmm/core/errors.hpp"
#include "mmm/preprocess/text/hf/normalized.hpp"
#include "mmm/preprocess/text/json_fields.hpp"
#include "mmm/preprocess/text/unicode.hpp"

namespace mmm::detail::hf {

namespace jf = json_fields;

inline bool is_white_space(char32_t c) noexcept { return unicode::has(c, unicode::space); }

struct Normalizer {
  enum class Kind { none, nfd, nfkd, nfc, nfkc, lowercase, strip, strip_accents, prepend, replace, bert_clean, bert_chinese, strip_nonspacing, nmt, sequence };
  Kind kind = Kind::none;
  bool left = false, right = false;  // Strip
  std::string text, content;         // Prepend's text; Replace's pattern and content
  std::vector<Normalizer> steps;     // Sequence (BertNormalizer is read as one)

  static Normalizer parse(const jf::Json& j, const std::string& where) {
    Normalizer n;
    if (j.is_null()) return n;
    const std::string type = jf::type_of(j, where);
    auto simple = [&](Kind k) {
      n.kind = k;
      return n;
    };
    if (type == "NFD") return simple(Kind::nfd);
    if (type == "NFKD") return simple(Kind::nfkd);
    if (type == "NFC") return simple(Kind::nfc);
    if (type == "NFKC") return simple(Kind::nfkc);
    if (type == "Lowercase") return simple(Kind::lowercase);
    if (type == "StripAccents") return simple(Kind::strip_accents);
    if (type == "Nmt") return simple(Kind::nmt);
    if (type == "Strip") {
      n.kind = Kind::strip;
      n.left = jf::boolean(j, "strip_left", true, where);
      n.right = jf::boolean(j, "strip_right", true, where);
      return n;
    }
    if (type == "Prepend") {
      n.kind = Kind::prepend;
      n.text = jf::string(j, "prepend", "", where);
      return n;
    }
    if (type == "Replace") {
      n.kind = Kind::replace;
      n.text = string_pattern(jf::required(j, "pattern", where), where + ".pattern");
      n.content = jf::string(j, "content", "", where);
      return n;
    }
    if (type == "BertNormalizer") {
      n.kind = Kind::sequence;
      const bool lower = jf::boolean(j, "lowercase", true, where);
      const bool strip = jf::boolean(j, "strip_accents", lower, where);
      if (jf::boolean(j, "clean_text", true, where)) n.steps.push_back(simple_step(Kind::bert_clean));
      if (jf::boolean(j, "handle_chinese_chars", true, where)) n.steps.push_back(simple_step(Kind::bert_chinese));
      if (strip) n.steps.push_back(simple_step(Kind::nfd)), n.steps.push_back(simple_step(Kind::strip_nonspacing));
      if (lower) n.steps.push_back(simple_step(Kind::lowercase));
      return n;
    }
    if (type == "Sequence") {
      n.kind = Kind::sequence;
      n.steps = jf::sequence<Normalizer>(j, "normalizers", where, parse);
      return n;
    }
    jf::unsupported(where, type, "NFD, NFKD, NFC, NFKC, Lowercase, Strip, StripAccents, Prepend, Replace, BertNormalizer, Nmt, Sequence");
  }

  // A Replace/Split "pattern": {"String": s}, or a {"Regex": r} that is a plain string.
  static std::string string_pattern(const jf::Json& p, const std::string& where) {
    std::string s;
    if (p.is_object() && p.size() == 1 && jf::member(p, "String") && p["String"].is_string()) {
      s = p["String"].get<std::string>();
    } else if (p.is_object() && p.size() == 1 && jf::member(p, "Regex") && p["Regex"].is_string() &&
               p["Regex"].get<std::string>().find_first_of("\\^$.|?*+()[]{}") == std::string::npos) {
      s = p["Regex"].get<std::string>();
    } else {
      throw FormatError(where + " is " + jf::show(p) + "; mmm implements string patterns and plain-text regexes only");
    }
    if (s.empty()) throw FormatError(where + " is the empty string, which matches nothing useful");
    return s;
  }

  bool active() const noexcept { return kind != Kind::none; }

  // Rewrites every piece that is not an added token; `buf` and `pieces` are replaced.
  void apply(Buffer& buf, std::vector<Piece>& pieces, Buffer& tmp) const {
    if (kind == Kind::none) return;
    if (kind == Kind::sequence) {
      for (const Normalizer& s : steps) s.apply(buf, pieces, tmp);
      return;
    }
    tmp.clear();
    thread_local std::vector<Char> chars;
    for (Piece& p : pieces) {
      if (p.id >= 0) {
        const auto begin = static_cast<std::uint32_t>(tmp.size());
        tmp.copy(buf, p.begin, p.end);
        p.begin = begin, p.end = static_cast<std::uint32_t>(tmp.size());
        continue;
      }
      decode_chars(buf, p, chars);
      p = rewrite(buf, p, chars, tmp);
    }
    swap_scratch(buf, tmp);
  }

 private:
  static Normalizer simple_step(Kind k) {
    Normalizer n;
    n.kind = k;
    return n;
  }

  // A filter (keep(c)) whose kept characters may also be mapped, as the library's
  // filter() followed by map().
  template <class Keep, class Map>
  static Piece filter_map(const Buffer& in, const Piece& p, const std::vector<Char>& chars, Buffer& out, Keep&& keep, Map&& map) {
    std::size_t removed_start = 0, i = 0;
    while (i < chars.size() && !keep(chars[i].code)) ++i;
    removed_start = i;
    Rewriter w(in, p, chars, out, removed_start);
    while (i < chars.size()) {
      std::size_t j = i + 1;
      while (j < chars.size() && !keep(chars[j].code)) ++j;
      w.emit(map(chars[i].code), -static_cast<int>(j - i - 1));
      i = j;
    }
    return w.finish();
  }

  Piece rewrite(const Buffer& in, const Piece& p, const std::vector<Char>& chars, Buffer& out) const {
    switch (kind) {
      case Kind::nfd:
      case Kind::nfkd: {
        Rewriter w(in, p, chars, out);
        decompose_with_changes(chars, kind == Kind::nfkd, [&](char32_t c, int change) { w.emit(c, change); });
        return w.finish();
      }
      case Kind::nfc:
      case Kind::nfkc: {
        thread_local std::vector<std::pair<char32_t, int>> decomposed;
        decomposed.clear();
        decompose_with_changes(chars, kind == Kind::nfkc, [&](char32_t c, int change) { decomposed.push_back({c, change}); });
        Rewriter w(in, p, chars, out);
        compose_with_changes(decomposed, [&](char32_t c, int change) { w.emit(c, change); });
        return w.finish();
      }
      case Kind::lowercase: {
        Rewriter w(in, p, chars, out);
        for (const Char& c : chars) {
          int change = 0;
          unicode::append_lower(c.code, [&](char32_t x) {
            w.emit(x, change);
            change = 1;
          });
        }
        return w.finish();
      }
      case Kind::strip: {
        std::size_t lead = 0, trail = 0;
        if (left)
          while (lead < chars.size() && is_white_space(chars[lead].code)) ++lead;
        if (right)
          while (trail < chars.size() - lead && is_white_space(chars[chars.size() - 1 - trail].code)) ++trail;
        Rewriter w(in, p, chars, out, lead);
        for (std::size_t i = lead; i + trail < chars.size(); ++i)
          w.emit(chars[i].code, i + trail + 1 == chars.size() ? -static_cast<int>(trail) : 0);
        return w.finish();
      }
      case Kind::strip_accents:
        return filter_map(in, p, chars, out, [](char32_t c) { return !unicode::has(c, unicode::any_mark); }, [](char32_t c) { return c; });
      case Kind::strip_nonspacing:
        return filter_map(in, p, chars, out, [](char32_t c) { return !unicode::has(c, unicode::mark); }, [](char32_t c) { return c; });
      case Kind::bert_clean:
        return filter_map(
            in, p, chars, out,
            [](char32_t c) {
              const bool control = c != '\t' && c != '\n' && c != '\r' && unicode::has(c, unicode::control);
              return !(c == 0 || c == 0xFFFD || control);
            },
            [](char32_t c) { return c == '\t' || c == '\n' || c == '\r' || is_white_space(c) ? char32_t{' '} : c; });
      case Kind::nmt:
        return filter_map(
            in, p, chars, out,
            [](char32_t c) {
              return !((c >= 0x1 && c <= 0x8) || c == 0xB || (c >= 0xE && c <= 0x1F) || c == 0x7F || c == 0x8F || c == 0x9F);
            },
            [](char32_t c) {
              const bool space = c == 0x9 || c == 0xA || c == 0xC || c == 0xD || c == 0x1680 || (c >= 0x200B && c <= 0x200F) ||
                                 c == 0x2028 || c == 0x2029 || c == 0x2581 || c == 0xFEFF || c == 0xFFFD;
              return space ? char32_t{' '} : c;
            });
      case Kind::bert_chinese: {
        Rewriter w(in, p, chars, out);
        for (const Char& c : chars) {
          if (is_chinese_char(c.code)) {
            w.emit(' ', 0);
            w.emit(c.code, 1);
            w.emit(' ', 1);
          } else {
            w.emit(c.code, 0);
          }
        }
        return w.finish();
      }
      case Kind::prepend: {
        Rewriter w(in, p, chars, out);
        if (chars.empty()) return w.finish();
        int change = 0;
        for (std::size_t i = 0; i < text.size();) {
          const utf8::Decoded d = utf8::decode(text, i);
          w.emit(d.code, change);
          change = 1;
          i += static_cast<std::size_t>(d.length);
        }
        w.emit(chars[0].code, 1);
        for (std::size_t i = 1; i < chars.size(); ++i) w.emit(chars[i].code, 0);
        return w.finish();
      }
      case Kind::replace: {
        const auto start = static_cast<std::uint32_t>(out.size());
        const std::string_view s = std::string_view(in.text).substr(p.begin, p.end - p.begin);
        std::size_t at = 0;
        for (std::size_t hit = s.find(text); hit != std::string_view::npos; hit = s.find(text, at)) {
          out.copy(in, p.begin + at, p.begin + hit);
          const Align a = in.align[p.begin + hit + text.size() - 1];
          for (std::size_t i = 0; i < content.size();) {
            const utf8::Decoded d = utf8::decode(content, i);
            out.push(d.code, a);
            i += static_cast<std::size_t>(d.length);
          }
          at = hit + text.size();
        }
        out.copy(in, p.begin + at, p.end);
        return {start, static_cast<std::uint32_t>(out.size()), p.orig_begin, p.orig_end, -1};
      }
      case Kind::none:
      case Kind::sequence: break;
    }
    return p;
  }

 public:
  static bool is_chinese_char(char32_t c) noexcept {
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
           (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
  }
};

}  // namespace mmm::detail::hf
