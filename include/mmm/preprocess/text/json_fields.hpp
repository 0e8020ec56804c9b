#pragma once
// Reading typed fields of tokenizer files' JSON: every value is checked for its type and
// range before use, and a bad one is a FormatError that names the file, the field path and
// the value, e.g. "tokenizer.json: padding.pad_id is 4294967301, outside 0..50256".

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "mmm/core/errors.hpp"
#include "mmm/io/json.hpp"

namespace mmm::detail::json_fields {

using Json = nlohmann::json;

// A JSON value for an error message, cut short when long.
inline std::string show(const Json& v) {
  std::string s = v.dump(-1, ' ', false, Json::error_handler_t::replace);
  if (s.size() > 80) s = s.substr(0, 77) + "...";
  return s;
}

// Depth and NUL limits are io/json.hpp's, shared with every JSON document mmm reads.
inline Json parse(std::string_view text, const std::string& name) { return parse_json_document(text, name); }

// An integer in [lo, hi]; `where` names the field ("model.unk_id").
inline std::int64_t integer(const Json& v, const std::string& where, std::int64_t lo, std::int64_t hi) {
  bool in_range = false;
  std::int64_t x = 0;
  if (v.is_number_unsigned()) {
    const auto u = v.get<std::uint64_t>();
    in_range = u <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) &&
               static_cast<std::int64_t>(u) >= lo && static_cast<std::int64_t>(u) <= hi;
    x = in_range ? static_cast<std::int64_t>(u) : 0;
  } else if (v.is_number_integer()) {
    x = v.get<std::int64_t>();
    in_range = x >= lo && x <= hi;
  } else {
    throw FormatError(where + " is " + show(v) + ", expected an integer");
  }
  if (!in_range)
    throw FormatError(where + " is " + show(v) + ", outside " + std::to_string(lo) + ".." + std::to_string(hi));
  return x;
}

inline const Json* member(const Json& object, const char* key) {
  if (!object.is_object()) return nullptr;
  const auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

// object[key] as a bool / string / number; absent or null gives the fallback.
inline bool boolean(const Json& object, const char* key, bool fallback, const std::string& where) {
  const Json* v = member(object, key);
  if (!v || v->is_null()) return fallback;
  if (!v->is_boolean()) throw FormatError(where + "." + key + " is " + show(*v) + ", expected true or false");
  return v->get<bool>();
}
inline std::string string(const Json& object, const char* key, std::string fallback, const std::string& where) {
  const Json* v = member(object, key);
  if (!v || v->is_null()) return fallback;
  if (!v->is_string()) throw FormatError(where + "." + key + " is " + show(*v) + ", expected a string");
  return v->get<std::string>();
}
inline double number(const Json& object, const char* key, double fallback, const std::string& where) {
  const Json* v = member(object, key);
  if (!v || v->is_null()) return fallback;
  if (!v->is_number()) throw FormatError(where + "." + key + " is " + show(*v) + ", expected a number");
  return v->get<double>();
}
inline const Json& required(const Json& object, const char* key, const std::string& where) {
  const Json* v = member(object, key);
  if (!v) throw FormatError(where + "." + key + " is missing");
  return *v;
}

// A pipeline piece's "type" (a piece is an object with a string "type").
inline std::string type_of(const Json& j, const std::string& where) {
  const Json* t = member(j, "type");
  if (!j.is_object() || !t || !t->is_string())
    throw FormatError(where + " is " + show(j) + ", expected an object with a \"type\"");
  return t->get<std::string>();
}

// The pieces of a "Sequence" (j[key] is their array), each parsed by parse(json, where);
// the null ones (parsed to an inactive piece) are left out.
template <class Piece, class Parse>
std::vector<Piece> sequence(const Json& j, const char* key, const std::string& where, Parse&& parse) {
  const Json& list = required(j, key, where);
  if (!list.is_array()) throw FormatError(where + "." + key + " is " + show(list) + ", expected an array");
  std::vector<Piece> steps;
  for (std::size_t i = 0; i < list.size(); ++i) {
    Piece child = parse(list[i], where + "." + key + "[" + std::to_string(i) + "]");
    if (child.active()) steps.push_back(std::move(child));
  }
  return steps;
}

// A type this reader does not implement.
[[noreturn]] inline void unsupported(const std::string& where, const std::string& type, const char* implemented) {
  throw FormatError(where + ".type is \"" + type + "\", which mmm does not implement (" + implemented + ")");
}

}  // namespace mmm::detail::json_fields
