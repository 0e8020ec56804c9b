#pragma once
// tokenizer.json "post_processor": TemplateProcessing (the single-sequence template),
// BertProcessing, RobertaProcessing, ByteLevel (offsets only) and Sequence, as Hugging
// Face's `tokenizers` applies them to one encoded sequence when special tokens are added.
// Anything else is a FormatError naming the field and its value.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mmm/core/errors.hpp"
#include "mmm/preprocess/text/hf/normalized.hpp"
#include "mmm/preprocess/text/hf/pre_tokenizers.hpp"
#include "mmm/preprocess/text/json_fields.hpp"

namespace mmm::detail::hf {

namespace jf = json_fields;

// One token of an encoding: its id, the original bytes it covers, and its string (the
// vocabulary's, or an added token's matched text: what ByteLevel's offset trimming reads).
struct EncodedToken {
  std::int32_t id;
  std::uint32_t begin, end;
  std::string_view text;
};

struct PostProcessor {
  // The single-sequence template: ids before and after the sequence.
  std::vector<std::int32_t> before, after;
  bool trim_offsets = false, add_prefix_space = false;  // ByteLevel / Roberta offset trimming
  bool active = false;

  static PostProcessor parse(const jf::Json& j, const std::string& where) {
    PostProcessor p;
    p.read(j, where);
    return p;
  }
  std::size_t added_tokens() const noexcept { return before.size() + after.size(); }

 private:
  void read(const jf::Json& j, const std::string& where) {
    if (j.is_null()) return;
    const std::string type = jf::type_of(j, where);
    active = true;
    if (type == "ByteLevel") {
      trim_offsets = jf::boolean(j, "trim_offsets", true, where);
      add_prefix_space = jf::boolean(j, "add_prefix_space", true, where);
      return;
    }
    if (type == "BertProcessing" || type == "RobertaProcessing") {
      before.push_back(pair_id(jf::required(j, "cls", where), where + ".cls"));
      after.push_back(pair_id(jf::required(j, "sep", where), where + ".sep"));
      if (type == "RobertaProcessing") {
        trim_offsets = jf::boolean(j, "trim_offsets", true, where);
        add_prefix_space = jf::boolean(j, "add_prefix_space", true, where);
      }
      return;
    }
    if (type == "TemplateProcessing") {
      const jf::Json& specials = jf::required(j, "special_tokens", where);
      if (!specials.is_object()) throw FormatError(where + ".special_tokens is " + jf::show(specials) + ", expected an object");
      const jf::Json& single = jf::required(j, "single", where);
      if (!single.is_array()) throw FormatError(where + ".single is " + jf::show(single) + ", expected an array");
      bool seen_sequence = false;
      for (std::size_t i = 0; i < single.size(); ++i) {
        const jf::Json& item = single[i];
        const std::string at = where + ".single[" + std::to_string(i) + "]";
        if (item.is_object() && jf::member(item, "Sequence")) {
          const std::string id = jf::string(item["Sequence"], "id", "A", at + ".Sequence");
          if (id != "A") throw FormatError(at + ".Sequence.id is \"" + id + "\"; a single sequence is A");
          if (seen_sequence) throw FormatError(at + " repeats the sequence; mmm reads templates with one");
          seen_sequence = true;
        } else if (item.is_object() && jf::member(item, "SpecialToken")) {
          const std::string name = jf::string(item["SpecialToken"], "id", "", at + ".SpecialToken");
          const jf::Json* sp = jf::member(specials, name.c_str());
          if (!sp) throw FormatError(at + " names the special token '" + name + "', which special_tokens does not define");
          const jf::Json& ids = jf::required(*sp, "ids", where + ".special_tokens[\"" + name + "\"]");
          if (!ids.is_array()) throw FormatError(where + ".special_tokens[\"" + name + "\"].ids is " + jf::show(ids) + ", expected an array");
          for (std::size_t k = 0; k < ids.size(); ++k)
            (seen_sequence ? after : before)
                .push_back(static_cast<std::int32_t>(jf::integer(ids[k], where + ".special_tokens[\"" + name + "\"].ids[" + std::to_string(k) + "]", 0, INT32_MAX)));
        } else {
          throw FormatError(at + " is " + jf::show(item) + ", expected {\"Sequence\": ...} or {\"SpecialToken\": ...}");
        }
      }
      if (!seen_sequence) throw FormatError(where + ".single has no {\"Sequence\": {\"id\": \"A\"}}");
      return;
    }
    if (type == "Sequence") {
      const jf::Json& list = jf::required(j, "processors", where);
      if (!list.is_array()) throw FormatError(where + ".processors is " + jf::show(list) + ", expected an array");
      active = false;
      for (std::size_t i = 0; i < list.size(); ++i) {
        PostProcessor child = parse(list[i], where + ".processors[" + std::to_string(i) + "]");
        if (!child.active) continue;
        active = true;
        // Later processors wrap what earlier ones produced.
        before.insert(before.begin(), child.before.begin(), child.before.end());
        after.insert(after.end(), child.after.begin(), child.after.end());
        trim_offsets = trim_offsets || child.trim_offsets;
        add_prefix_space = add_prefix_space || child.add_prefix_space;
      }
      return;
    }
    jf::unsupported(where, type, "TemplateProcessing, BertProcessing, RobertaProcessing, ByteLevel, Sequence");
  }

  static std::int32_t pair_id(const jf::Json& v, const std::string& where) {
    if (!v.is_array() || v.size() != 2 || !v[0].is_string())
      throw FormatError(where + " is " + jf::show(v) + ", expected [token, id]");
    return static_cast<std::int32_t>(jf::integer(v[1], where + "[1]", 0, INT32_MAX));
  }

 public:
  // ByteLevel's trim_offsets: the byte-level space and whitespace at a token's ends are not
  // part of the text it stands for. The library moves the offsets by one per such character
  // in the unit it reports (characters, for Python and node), so here the ends move by
  // characters of the original text.
  void trim(std::vector<EncodedToken>& tokens, std::string_view original) const {
    if (!trim_offsets) return;
    const char32_t space = byte_to_char()[' '];
    auto forward = [&](std::uint32_t at, std::size_t chars, std::uint32_t limit) {
      for (; chars > 0 && at < limit; --chars)
        do ++at;
        while (at < limit && (static_cast<unsigned char>(original[at]) & 0xC0) == 0x80);
      return at;
    };
    auto backward = [&](std::uint32_t at, std::size_t chars, std::uint32_t limit) {
      for (; chars > 0 && at > limit; --chars)
        do --at;
        while (at > limit && (static_cast<unsigned char>(original[at]) & 0xC0) == 0x80);
      return at;
    };
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      EncodedToken& t = tokens[i];
      if (t.text.empty()) continue;
      const std::string_view s = t.text;
      auto spacey = [&](char32_t c) { return c == space || is_white_space(c); };
      std::size_t lead = 0, trail = 0, chars = 0;
      bool leading = true;
      for (std::size_t k = 0; k < s.size();) {  // count the leading run, and the trailing one
        const utf8::Decoded d = utf8::decode(s, k);
        k += static_cast<std::size_t>(d.length);
        ++chars;
        if (spacey(d.code)) {
          ++trail;
          lead += leading;
        } else {
          trail = 0;
          leading = false;
        }
      }
      if (lead > 0) {
        const bool first = i == 0 || t.begin == 0;
        if (first && add_prefix_space && lead == 1) lead = 0;
        t.begin = forward(t.begin, lead, t.end);
      }
      if (trail > 0) t.end = backward(t.end, trail, t.begin);
    }
  }
};

}  // namespace mmm::detail::hf
