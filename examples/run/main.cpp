// mmm-run: the shipped models on the user's own files.
//
//   mmm-run caption photo.png
//   mmm-run transcribe talk.wav
//   mmm-run ask photo.png "what colour is the square?"
//   mmm-run draw "a red circle above a blue square" -o out.png
//   mmm-run [--models-dir DIR] TASK [options] FILE...      mmm-run --help, mmm-run TASK --help
//
// Each task is an example's task function (examples/<example>/task.cpp), given the directory
// of that example's weights: MODELS/<example>, where MODELS is --models-dir or the models
// installed beside this program (bin/../share/mmm/models, in the build tree as after
// `cmake --install`). A task is one row of `tasks` below.
#include <cstdio>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "../support/example.hpp"

namespace caption {
int run(const examples::Invocation& how);
}
namespace transcribe {
int run(const examples::Invocation& how);
}
namespace assistant {
int run(const examples::Invocation& how);
}
namespace draw {
int run(const examples::Invocation& how);
}

namespace {

struct Task {
  const char* name;
  const char* arguments;  // for the usage line
  const char* what;
  const char* models;     // the directory below MODELS with its weights
  int (*run)(const examples::Invocation&);
};

constexpr Task tasks[] = {
    {"caption", "IMAGE...", "describes each image in one sentence", "caption", caption::run},
    {"transcribe", "WAV...", "writes down the words spoken in each WAV file", "transcribe", transcribe::run},
    {"ask", "IMAGE QUESTION", "answers a question about an image in words (the multimodal assistant)", "assistant",
     assistant::run},
    {"draw", "\"PROMPT\"", "draws the scene a sentence describes as a PNG (-o out.png)", "draw", draw::run},
};

void usage(std::FILE* to) {
  std::fprintf(to, "usage: mmm-run [--models-dir DIR] TASK [options] ARGUMENTS\n\ntasks:\n");
  for (const Task& t : tasks) std::fprintf(to, "  %-11s %-15s %s\n", t.name, t.arguments, t.what);
  std::fprintf(to,
               "\n`mmm-run TASK --help` lists a task's options. Each prints its result and its latency.\n"
               "The models are small ones trained here on synthetic scenes and espeak-ng speech (see\n"
               "examples/*/README.md). DIR holds caption/, transcribe/, assistant/ and draw/ (default:\n"
               "%s from this program's directory, where `cmake --install` puts them).\n",
               MMM_RUN_MODELS);
}

// bin/../share/mmm/models beside this executable (MMM_RUN_MODELS is that path from bin/).
std::string installed_models(const char* argv0) {
  std::error_code error;
  std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", error);
  if (error) self = std::filesystem::absolute(argv0, error);
  return (self.parent_path() / MMM_RUN_MODELS).lexically_normal().string();
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  std::string models;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] != "--models-dir") continue;
    if (i + 1 >= args.size()) {
      std::fprintf(stderr, "mmm-run: --models-dir needs a value\n");
      usage(stderr);
      return 2;
    }
    models = args[i + 1];
    args.erase(args.begin() + static_cast<std::ptrdiff_t>(i), args.begin() + static_cast<std::ptrdiff_t>(i) + 2);
    break;
  }
  if (args.empty()) {
    std::fprintf(stderr, "mmm-run: no task given\n");
    usage(stderr);
    return 2;
  }
  if (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
    usage(stdout);
    return 0;
  }
  for (const Task& t : tasks) {
    if (args[0] != t.name) continue;
    if (models.empty()) models = installed_models(argv[0]);
    return t.run({std::string("mmm-run ") + t.name, {args.begin() + 1, args.end()}, models + "/" + t.models, ""});
  }
  std::fprintf(stderr, "mmm-run: unknown task '%s'\n", args[0].c_str());
  usage(stderr);
  return 2;
}
