#pragma once
// JSON documents from files a user brings (vocab.json, tokenizer.json), parsed into a
// nlohmann::json tree with the two limits that parser lacks:
//   - nesting deeper than 128 levels is refused before parsing (the limit of serde_json,
//     which the reference tokenizers and safetensors use): 10 million '[' would otherwise
//     become 10 million nested arrays, gigabytes from a 10 MB file;
//   - a NUL byte is refused: nlohmann's lexer takes it as the end of the text, so what
//     follows one would never be read, and a file could say two things at once.
// The tree itself takes about ten times the text (documented in docs/bad-input.md);
// safetensors headers, which can be large, are instead read as a stream against their
// schema (io/safetensors.hpp).
// A reader of numbers may be given, for a format whose numbers are defined by the parser
// that reads them (tokenizer.json: serde_json's, see preprocess/text/hf/serde_json_number.hpp).

#include <cmath>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "mmm/core/checked.hpp"
#include "mmm/core/errors.hpp"

namespace mmm {

inline constexpr int json_max_depth = 128;

namespace detail {
// The deepest nesting of arrays and objects in `text`, outside strings; stops (and
// returns more than `limit`) as soon as it passes `limit`. Linear, constant memory.
inline int json_depth(std::string_view text, int limit) noexcept {
  int depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (const char c : text) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > deepest && (deepest = depth) > limit) return deepest;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return deepest;
}

inline void check_json_limits(std::string_view text, const std::string& name) {
  if (const std::size_t nul = text.find('\0'); nul != std::string_view::npos)
    throw FormatError(name + ": invalid JSON: a NUL byte at offset " + std::to_string(nul));
  if (json_depth(text, json_max_depth) > json_max_depth)
    throw FormatError(name + ": invalid JSON: nested more than " + std::to_string(json_max_depth) + " levels deep");
}

// nlohmann's SAX events built into a tree as its own parser builds it (a repeated key keeps
// its last value), except that a number with a fraction or an exponent, or too large for 64
// bits, is read from its text by `read_number`.
class JsonTreeReadingNumbers {
 public:
  using Json = nlohmann::json;
  JsonTreeReadingNumbers(const std::string& name, double (*read_number)(std::string_view))
      : name_(name), read_number_(read_number) {}
  Json take() { return std::move(root_); }

  bool null() { return put(nullptr), true; }
  bool boolean(bool v) { return put(v), true; }
  bool number_integer(Json::number_integer_t v) { return put(v), true; }
  bool number_unsigned(Json::number_unsigned_t v) { return put(v), true; }
  bool number_float(Json::number_float_t, const std::string& text) {
    const double v = read_number_(text);
    if (!std::isfinite(v)) throw FormatError(name_ + ": the number " + text + " is out of range");
    return put(v), true;
  }
  bool string(std::string& v) { return put(std::move(v)), true; }
  bool binary(Json::binary_t& v) { return put(Json::binary(std::move(v))), true; }
  bool start_object(std::size_t) { return open_.push_back(put(Json::object())), true; }
  bool key(std::string& k) { return slot_ = &(*open_.back())[k], true; }
  bool end_object() { return open_.pop_back(), true; }
  bool start_array(std::size_t) { return open_.push_back(put(Json::array())), true; }
  bool end_array() { return open_.pop_back(), true; }
  bool parse_error(std::size_t, const std::string&, const Json::exception& e) {
    throw FormatError(name_ + ": invalid JSON: " + e.what());
  }

 private:
  // Pointers into the tree stay valid: only the innermost open container grows, and the
  // containers holding it are not touched until it closes.
  Json* put(Json&& v) {
    if (open_.empty()) return &(root_ = std::move(v));
    Json& inner = *open_.back();
    if (inner.is_array()) return inner.push_back(std::move(v)), &inner.back();
    return &(*slot_ = std::move(v));
  }

  const std::string& name_;
  double (*read_number_)(std::string_view);
  Json root_;
  std::vector<Json*> open_;
  Json* slot_ = nullptr;  // where the open object's next value goes, set by its key
};
}  // namespace detail

// Parses `text`; FormatError naming `name` for invalid JSON or a limit passed, ResourceError
// when the tree does not fit in memory.
inline nlohmann::json parse_json_document(std::string_view text, const std::string& name) {
  detail::check_json_limits(text, name);
  try {
    return nlohmann::json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::exception& e) {
    throw FormatError(name + ": invalid JSON: " + e.what());
  } catch (...) {
    rethrow_allocation_failure(name);
  }
}

// The same, with each number that has a fraction or an exponent (or is too large for 64
// bits) read from its text by `read_number`; one it reads as infinite is a FormatError.
inline nlohmann::json parse_json_document(std::string_view text, const std::string& name,
                                          double (*read_number)(std::string_view number)) {
  detail::check_json_limits(text, name);
  try {
    detail::JsonTreeReadingNumbers tree(name, read_number);
    nlohmann::json::sax_parse(text.begin(), text.end(), &tree);
    return tree.take();
  } catch (...) {
    rethrow_allocation_failure(name);
  }
}

}  // namespace mmm
