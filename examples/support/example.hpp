#pragma once
// What every example program shares, so that each main reads as its model's use: the
// command line (options, inputs, --help, usage mistakes), the inputs.tsv / --list files,
// checking results against expected ones, timing, and turning errors into messages and
// exit statuses. One task function serves both its example program (examples/caption's
// `caption`) and mmm-run (`mmm-run caption`); an Invocation says which.
//
// Exit statuses: 0 done (and every expected result met), 1 a result not as expected or an
// mmm::Error (its message names the file), 2 a mistake on the command line (usage on stderr).

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "mmm/core/errors.hpp"

namespace examples {

// How a task was started.
struct Invocation {
  std::string program;            // for usage and messages: "caption" or "mmm-run caption"
  std::vector<std::string> args;  // what follows the program (and the task's name)
  std::string model_dir;          // where the task's weights are by default
  std::string shipped;            // the inputs.tsv to run without inputs; empty: inputs are required

  // An example program's own main: its weights and inputs are in its source directory.
  static Invocation of_example(int argc, char** argv, const std::string& dir) {
    return {std::filesystem::path(argv[0]).filename().string(), {argv + 1, argv + argc}, dir, dir + "/inputs.tsv"};
  }
};

// A mistake on the command line: reported with the usage, exit status 2.
struct UsageError {
  std::string message;
};
struct HelpRequested {};

// --name VALUE options, --name flags, -h/--help and positional inputs, in any order.
class CommandLine {
 public:
  struct Text {
    const char* name;
    std::string& value;
  };
  // --name TEXT options: CommandLine line({{"--model", model}, {"--expect", expect}}).
  explicit CommandLine(std::initializer_list<Text> texts = {}) {
    for (const Text& t : texts) text(t.name, t.value);
  }
  // One more --name TEXT option.
  void text(std::string name, std::string& value) {
    options_.push_back({std::move(name), [&value](const std::string& v) { value = v; }});
  }
  // A whole number from lo to hi.
  void option(std::string name, long& value, long lo, long hi) {
    options_.push_back({name, [&value, name, lo, hi](const std::string& v) {
                          char* end = nullptr;
                          const long n = std::strtol(v.c_str(), &end, 10);
                          if (v.empty() || *end != '\0' || n < lo || n > hi)
                            throw UsageError{name + " needs a whole number from " + std::to_string(lo) + " to " + std::to_string(hi) +
                                             ", got '" + v + "'"};
                          value = n;
                        }});
  }

  // --name alone: sets `value`.
  void flag(std::string name, bool& value) {
    options_.push_back({std::move(name), [&value](const std::string&) { value = true; }, /*takes_value=*/false});
  }

  // The positional arguments; throws HelpRequested or UsageError.
  std::vector<std::string> parse(const std::vector<std::string>& args) const {
    std::vector<std::string> positional;
    for (std::size_t i = 0; i < args.size(); ++i) {
      const std::string& arg = args[i];
      if (arg == "-h" || arg == "--help") throw HelpRequested{};
      if (arg.size() < 2 || arg[0] != '-') {
        positional.push_back(arg);
        continue;
      }
      const Option* found = nullptr;
      for (const Option& o : options_)
        if (o.name == arg) found = &o;
      if (!found) throw UsageError{"unknown option '" + arg + "'"};
      if (!found->takes_value) {
        found->set("");
        continue;
      }
      if (i + 1 >= args.size()) throw UsageError{arg + " needs a value"};
      found->set(args[++i]);
    }
    return positional;
  }

 private:
  struct Option {
    std::string name;
    std::function<void(const std::string&)> set;
    bool takes_value = true;
  };
  std::vector<Option> options_;
};

// The options of the tasks that decode a model's output (caption, transcribe, ask):
// --model PATH (default: the task's shipped weights), --expect TEXT, --list FILE and
// --width K (beam width; 0 when not given: the model's own).
struct DecodingOptions {
  std::string model, expect, list;
  long width = 0;

  DecodingOptions(const Invocation& how, const std::string& weights) : model(how.model_dir + "/" + weights) {}

  // The command line of these options and the task's own `extra` ones.
  CommandLine command_line(std::initializer_list<CommandLine::Text> extra = {}) {
    CommandLine line({{"--model", model}, {"--expect", expect}, {"--list", list}});
    for (const CommandLine::Text& t : extra) line.text(t.name, t.value);
    line.option("--width", width, 1, 64);
    return line;
  }
};

// One input of a run: a file, what is shown for it, and the other fields of its line.
struct Input {
  std::string path, shown;
  std::vector<std::string> fields;  // inputs.tsv: the expected result (and more); command line: as given

  const std::string& field(std::size_t i) const {
    static const std::string none;
    return i < fields.size() ? fields[i] : none;
  }
};

// inputs.tsv / --list: one input a line, its file relative to the list file, then fields
// separated by tabs (at least `fields`, laid out as `layout` says); '#' starts a comment.
inline std::vector<Input> read_list(const std::string& path, std::size_t fields = 0, const std::string& layout = "") {
  std::ifstream in(path);
  if (!in) throw mmm::IoError("cannot open '" + path + "'");
  const std::string dir = std::filesystem::path(path).parent_path().string();
  std::vector<Input> out;
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> parts;
    for (std::size_t from = 0;;) {
      const auto tab = line.find('\t', from);
      parts.push_back(line.substr(from, tab == std::string::npos ? tab : tab - from));
      if (tab == std::string::npos) break;
      from = tab + 1;
    }
    if (parts.size() < fields + 1)
      throw mmm::FormatError(path + ": line " + std::to_string(n) + " needs " + layout);
    const std::string file = parts[0];
    parts.erase(parts.begin());
    out.push_back({(dir.empty() ? "" : dir + "/") + file, file, std::move(parts)});
  }
  if (out.empty()) throw mmm::FormatError("'" + path + "' names no inputs");
  return out;
}

// Results against expected ones: prints "  <label> EXPECTED (right)" or "(WRONG)".
class Tally {
 public:
  void check(const char* label, const std::string& expected, const std::string& got) {
    if (expected.empty()) return;
    const bool right = got == expected;
    ++checked_;
    wrong_ += !right;
    std::printf("  %s%s %s\n", label, expected.c_str(), right ? "(right)" : "(WRONG)");
  }
  // Prints "N of M <what>" when anything was checked; the exit status.
  int finish(const char* what) const {
    if (checked_ > 0) std::printf("%zu of %zu %s\n", checked_ - wrong_, checked_, what);
    return wrong_ == 0 ? 0 : 1;
  }

 private:
  std::size_t checked_ = 0, wrong_ = 0;
};

class Stopwatch {
 public:
  double milliseconds() const {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start_).count();
  }

 private:
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

// Runs a task's body: --help prints `usage` (with the program's name for %s) to stdout and
// exits 0; usage mistakes print it to stderr and exit 2; errors print "program: message".
template <class Body>
int run(const Invocation& how, const char* usage, Body&& body) {
  auto print_usage = [&](std::FILE* to) { std::fprintf(to, usage, how.program.c_str()); };
  try {
    return body();
  } catch (const HelpRequested&) {
    print_usage(stdout);
    return 0;
  } catch (const UsageError& e) {
    std::fprintf(stderr, "%s: %s\n", how.program.c_str(), e.message.c_str());
    print_usage(stderr);
    return 2;
  } catch (const std::exception& e) {  // mmm::Error above all; anything else is reported, not a crash
    std::fflush(stdout);
    std::fprintf(stderr, "%s: %s\n", how.program.c_str(), e.what());
    return 1;
  }
}

// The inputs of a run: those on the command line (each with `expect` as its expected
// result when given), or else the shipped ones (or a usage error where there are none).
inline std::vector<Input> inputs_of(const Invocation& how, std::vector<Input> given, const std::string& expect,
                                    std::size_t fields = 1, const std::string& layout = "") {
  if (!expect.empty() && given.size() != 1) throw UsageError{"--expect needs exactly one input"};
  if (!given.empty()) {
    for (Input& in : given) in.fields.push_back(expect);
    return given;
  }
  if (how.shipped.empty()) throw UsageError{"no input given"};
  return read_list(how.shipped, fields, layout);
}

// Files named on the command line as inputs.
inline std::vector<Input> files(const std::vector<std::string>& paths) {
  std::vector<Input> out;
  for (const std::string& p : paths) out.push_back({p, p, {}});
  return out;
}

}  // namespace examples
