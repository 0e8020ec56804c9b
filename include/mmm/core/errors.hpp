#pragma once
// The error hierarchy. Every failure a user can cause (a bad file, a wrong shape, an
// out-of-range token) is one of these, and its message says what was expected, what was
// found, and where: which file, tensor or module.

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace mmm {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A tensor's shape does not fit what a module or function needs.
class ShapeError : public Error {
 public:
  using Error::Error;
};

// A tensor's element type is not one that can be used where it was found.
class DTypeError : public Error {
 public:
  using Error::Error;
};

// A file or buffer is malformed: truncated, lying about its sizes, bad syntax.
class FormatError : public Error {
 public:
  using Error::Error;
};

// A file could not be opened, read or written.
class IoError : public Error {
 public:
  using Error::Error;
};

// A value is outside what is allowed: a token id past the vocabulary, a bad option.
class RangeError : public Error {
 public:
  using Error::Error;
};

// Something would need more memory than is allowed or than the machine can give: a size
// that overflows, a file field that asks for gigabytes, an allocation that failed. The
// message says how much, who asked, and the limit.
class ResourceError : public Error {
 public:
  using Error::Error;
};

// `text` as it can be shown in a message: control characters (a NUL would cut what()
// short, a newline would forge a line) are written as \u00XX escapes.
inline std::string printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u != 0x7F) {
      out += c;
      continue;
    }
    static constexpr char hex[] = "0123456789ABCDEF";
    out += "\\u00";
    out += hex[u >> 4];
    out += hex[u & 15];
  }
  return out;
}

// Loading parameters found mismatches. One error lists all of them, so that a user fixes
// an export in one go instead of one tensor per run.
class ParameterError : public Error {
 public:
  ParameterError(std::string message, std::vector<std::string> missing,
                 std::vector<std::string> unexpected, std::vector<std::string> mismatched)
      : Error(std::move(message)),
        missing_(std::move(missing)),
        unexpected_(std::move(unexpected)),
        mismatched_(std::move(mismatched)) {}

  // State-dict names the model needs that the file does not have.
  const std::vector<std::string>& missing() const noexcept { return missing_; }
  // Names in the file (under the prefix) that no parameter of the model takes.
  const std::vector<std::string>& unexpected() const noexcept { return unexpected_; }
  // Names present on both sides whose shape or dtype does not fit, with the details.
  const std::vector<std::string>& mismatched() const noexcept { return mismatched_; }

 private:
  std::vector<std::string> missing_, unexpected_, mismatched_;
};

// Only a missing parameter, raised when a single parameter is looked up by name.
class MissingParameterError : public ParameterError {
 public:
  explicit MissingParameterError(const std::string& name, const std::string& where)
      : ParameterError("missing parameter '" + name + "' in " + where, {name}, {}, {}) {}
};

}  // namespace mmm
