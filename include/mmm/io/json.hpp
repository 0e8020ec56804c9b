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

#include <cstddef>
#include <string>
#include <string_view>

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
}  // namespace detail

// Parses `text`; FormatError naming `name` for invalid JSON or a limit passed, ResourceError
// when the tree does not fit in memory.
inline nlohmann::json parse_json_document(std::string_view text, const std::string& name) {
  if (const std::size_t nul = text.find('\0'); nul != std::string_view::npos)
    throw FormatError(name + ": invalid JSON: a NUL byte at offset " + std::to_string(nul));
  if (detail::json_depth(text, json_max_depth) > json_max_depth)
    throw FormatError(name + ": invalid JSON: nested more than " + std::to_string(json_max_depth) + " levels deep");
  try {
    return nlohmann::json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::exception& e) {
    throw FormatError(name + ": invalid JSON: " + e.what());
  } catch (...) {
    rethrow_allocation_failure(name);
  }
}

}  // namespace mmm
