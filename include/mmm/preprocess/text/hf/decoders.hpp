#pragma once
// tokenizer.json "decoder": ByteLevel, Metaspace, WordPiece, BPEDecoder, ByteFallback, Fuse,
// Strip, Replace (a string pattern) and Sequence, each a step over the list of token
// strings as in Hugging Face's `tokenizers` (decode_chain); the result is their
// concatenation. Anything else is a FormatError naming the field and its value.

#include <string>
#include <vector>

#include "mmm/core/errors.hpp"
#include "mmm/preprocess/text/hf/normalizers.hpp"
#include "mmm/preprocess/text/hf/pre_tokenizers.hpp"
#include "mmm/preprocess/text/json_fields.hpp"
#include "mmm/preprocess/text/utf8.hpp"

namespace mmm::detail::hf {

namespace jf = json_fields;

struct Decoder {
  enum class Kind { none, byte_level, metaspace, wordpiece, bpe, byte_fallback, fuse, strip, replace, sequence };
  Kind kind = Kind::none;
  std::string text, content;  // Metaspace's replacement; WordPiece's prefix; BPE's suffix; Strip's char; Replace
  bool prepend = true;        // Metaspace: prepend_scheme is not "never"
  bool cleanup = true;        // WordPiece
  std::size_t start = 0, stop = 0;  // Strip
  std::vector<Decoder> steps;

  static Decoder parse(const jf::Json& j, const std::string& where) {
    Decoder d;
    if (j.is_null()) return d;
    const std::string type = jf::type_of(j, where);
    if (type == "ByteLevel") return d.kind = Kind::byte_level, d;
    if (type == "ByteFallback") return d.kind = Kind::byte_fallback, d;
    if (type == "Fuse") return d.kind = Kind::fuse, d;
    if (type == "Metaspace") {
      d.kind = Kind::metaspace;
      d.text = jf::string(j, "replacement", "\xE2\x96\x81", where);
      const std::string scheme = jf::string(j, "prepend_scheme", "always", where);
      if (scheme != "always" && scheme != "first" && scheme != "never")
        throw FormatError(where + ".prepend_scheme is \"" + scheme + "\", expected always, first or never");
      d.prepend = scheme != "never" && jf::boolean(j, "add_prefix_space", true, where);
      return d;
    }
    if (type == "WordPiece") {
      d.kind = Kind::wordpiece;
      d.text = jf::string(j, "prefix", "##", where);
      d.cleanup = jf::boolean(j, "cleanup", true, where);
      return d;
    }
    if (type == "BPEDecoder") {
      d.kind = Kind::bpe;
      d.text = jf::string(j, "suffix", "</w>", where);
      return d;
    }
    if (type == "Strip") {
      d.kind = Kind::strip;
      d.text = jf::string(j, "content", " ", where);
      if (d.text.empty() || !utf8::is_valid(d.text) || static_cast<std::size_t>(utf8::decode(d.text, 0).length) != d.text.size())
        throw FormatError(where + ".content is \"" + d.text + "\", expected one character");
      d.start = static_cast<std::size_t>(jf::integer(jf::member(j, "start") ? j["start"] : jf::Json(0), where + ".start", 0, 1 << 20));
      d.stop = static_cast<std::size_t>(jf::integer(jf::member(j, "stop") ? j["stop"] : jf::Json(0), where + ".stop", 0, 1 << 20));
      return d;
    }
    if (type == "Replace") {
      d.kind = Kind::replace;
      d.text = Normalizer::string_pattern(jf::required(j, "pattern", where), where + ".pattern");
      d.content = jf::string(j, "content", "", where);
      return d;
    }
    if (type == "Sequence") {
      d.kind = Kind::sequence;
      d.steps = jf::sequence<Decoder>(j, "decoders", where, parse);
      return d;
    }
    jf::unsupported(where, type, "ByteLevel, Metaspace, WordPiece, BPEDecoder, ByteFallback, Fuse, Strip, Replace, Sequence");
  }

  bool active() const noexcept { return kind != Kind::none; }

  void decode_chain(std::vector<std::string>& tokens) const {
    switch (kind) {
      case Kind::none: return;
      case Kind::sequence:
        for (const Decoder& s : steps) s.decode_chain(tokens);
        return;
      case Kind::fuse: {
        std::string all;
        for (const std::string& t : tokens) all += t;
        tokens.assign(1, std::move(all));
        return;
      }
      case Kind::byte_level: {
        std::string bytes;
        for (const std::string& t : tokens) {
          std::string mapped;
          bool all_mapped = true;
          for (std::size_t i = 0; i < t.size();) {
            const utf8::Decoded d = utf8::decode(t, i);
            const int b = d.valid ? char_to_byte(d.code) : -1;
            if (b < 0) {
              all_mapped = false;
              break;
            }
            mapped += static_cast<char>(b);
            i += static_cast<std::size_t>(d.length);
          }
          bytes += all_mapped ? mapped : t;
        }
        tokens.assign(1, utf8::sanitize_maximal(bytes));
        return;
      }
      case Kind::metaspace: {
        const char32_t rep = utf8::decode(text, 0).code;
        for (std::size_t i = 0; i < tokens.size(); ++i) {
          std::string out;
          for (std::size_t k = 0; k < tokens[i].size();) {
            const utf8::Decoded d = utf8::decode(tokens[i], k);
            if (d.valid && d.code == rep) {
              if (!(i == 0 && prepend)) out += ' ';
            } else {
              out.append(tokens[i], k, static_cast<std::size_t>(d.length));
            }
            k += static_cast<std::size_t>(d.length);
          }
          tokens[i] = std::move(out);
        }
        return;
      }
      case Kind::wordpiece:
        for (std::size_t i = 0; i < tokens.size(); ++i) {
          std::string& t = tokens[i];
          if (i != 0) {
            if (t.starts_with(text)) t.erase(0, text.size());
            else t.insert(0, 1, ' ');
          }
          if (cleanup) t = clean_up(t);
        }
        return;
      case Kind::bpe:
        for (std::size_t i = 0; i < tokens.size(); ++i) replace_all(tokens[i], text, i + 1 == tokens.size() ? "" : " ");
        return;
      case Kind::replace:
        for (std::string& t : tokens) replace_all(t, text, content);
        return;
      case Kind::strip: {
        const char32_t c = utf8::decode(text, 0).code;
        for (std::string& t : tokens) {
          std::vector<std::pair<char32_t, std::size_t>> chars;  // code, byte
          for (std::size_t k = 0; k < t.size(); k += static_cast<std::size_t>(utf8::decode(t, k).length))
            chars.push_back({utf8::decode(t, k).code, k});
          std::size_t begin = 0, end = chars.size();
          for (std::size_t k = 0; k < start && k < chars.size() && chars[k].first == c; ++k) begin = k + 1;
          for (std::size_t k = 0; k < stop && k < chars.size() && chars[chars.size() - 1 - k].first == c; ++k) end = chars.size() - 1 - k;
          if (end < begin) end = begin;
          const std::size_t from = begin < chars.size() ? chars[begin].second : t.size();
          const std::size_t to = end < chars.size() ? chars[end].second : t.size();
          t = t.substr(from, to - from);
        }
        return;
      }
      case Kind::byte_fallback: {
        std::vector<std::string> out;
        std::string bytes;
        auto flush = [&] {
          if (bytes.empty()) return;
          if (utf8::is_valid(bytes)) out.push_back(bytes);
          else
            for (std::size_t k = 0; k < bytes.size(); ++k) out.emplace_back(utf8::replacement_utf8);
          bytes.clear();
        };
        for (std::string& t : tokens) {
          const int b = byte_token(t);
          if (b >= 0) {
            bytes += static_cast<char>(b);
            continue;
          }
          flush();
          out.push_back(std::move(t));
        }
        flush();
        tokens = std::move(out);
        return;
      }
    }
  }

 private:
  static int byte_token(const std::string& t) {
    if (t.size() != 6 || !t.starts_with("<0x") || t[5] != '>') return -1;
    auto hex = [](char c) { return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1; };
    const int hi = hex(t[3]), lo = hex(t[4]);
    return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
  }
  static void replace_all(std::string& s, const std::string& from, const std::string& to) {
    if (from.empty()) return;
    std::string out;
    std::size_t at = 0;
    for (std::size_t hit = s.find(from); hit != std::string::npos; hit = s.find(from, at)) {
      out.append(s, at, hit - at);
      out += to;
      at = hit + from.size();
    }
    out.append(s, at, std::string::npos);
    s = std::move(out);
  }
  static std::string clean_up(std::string s) {
    static const std::pair<const char*, const char*> rules[] = {{" .", "."},      {" ?", "?"},     {" !", "!"},   {" ,", ","},
                                                                {" ' ", "'"},     {" n't", "n't"}, {" 'm", "'m"}, {" do not", " don't"},
                                                                {" 's", "'s"},    {" 've", "'ve"}, {" 're", "'re"}};
    for (const auto& [from, to] : rules) replace_all(s, from, to);
    return s;
  }
};

}  // namespace mmm::detail::hf
