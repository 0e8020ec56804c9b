#pragma once
// Helpers shared by the text tests: reading the oracle's JSON, hex-encoded byte strings.
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

namespace mmm::test {

inline std::string oracle_dir() {
  const char* dir = std::getenv("MMM_ORACLE_DIR");
  if (!dir) throw std::runtime_error("MMM_ORACLE_DIR is not set: run this test through ctest");
  return dir;
}

inline nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path);
  return nlohmann::json::parse(in);
}

inline std::string from_hex(const std::string& hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) out += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  return out;
}

inline std::string printable(const std::string& s) {
  std::ostringstream o;
  for (unsigned char c : s) {
    if (c >= 0x20 && c < 0x7f) o << c;
    else o << "\\x" << std::hex << int(c) << std::dec;
  }
  return o.str();
}

template <class Seq>
std::string join(const Seq& v) {
  std::string s = "[";
  for (const auto& x : v) s += (s.size() > 1 ? ", " : "") + std::to_string(x);
  return s + "]";
}

}  // namespace mmm::test
