// Speech to text: a WAV file in, its words out ("turn on the light", "call three one four").
//
//   transcribe                       every shipped recording in inputs.tsv, with its true words
//   transcribe talk.wav [more.wav …]
//   options: --model PATH            speech.safetensors (default: this example's)
//            --width K               CTC beam width (default: the model's, 8; 1 is greedy)
//            --expect TEXT           exit with status 1 unless the (one) transcript is TEXT
//            --list FILE             transcribes every WAV named in FILE (one path a line,
//                                    relative to FILE, anything after a tab ignored) and prints
//                                    "path<TAB>transcript<TAB>score<TAB>greedy transcript"
//                                    lines, for agreement.py
//            --log-probs FILE        with --list: also writes each recording's per-frame
//                                    log-probabilities to FILE (safetensors, "0", "1", …)
//
// Any WAV (8/16/24/32-bit PCM or float, any rate and channel count) is downmixed and
// resampled to 16 kHz mono. Recordings longer than 6 s are heard in overlapping windows,
// with a progress line. The model (transcribe.hpp): log-mel, two stride-2 Conv1D + GELU, a
// 2-layer bidirectional LSTM and CTC; trained in PyTorch by tools/train_speech.py on
// espeak-ng voices.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "transcribe.hpp"

#ifndef MMM_TRANSCRIBE_DIR
#define MMM_TRANSCRIBE_DIR "examples/transcribe"
#endif

namespace {

struct Input {
  std::string path, expected, shown;
};

// inputs.tsv / --list: WAV path (relative to the file), optionally a tab and the transcript.
std::vector<Input> read_list(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw mmm::IoError("cannot open '" + path + "'");
  const std::string dir = std::filesystem::path(path).parent_path().string();
  std::vector<Input> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const auto tab = line.find('\t');
    const std::string wav = line.substr(0, tab);
    std::string expected;
    if (tab != std::string::npos) expected = line.substr(tab + 1, line.find('\t', tab + 1) - tab - 1);
    out.push_back({(dir.empty() ? "" : dir + "/") + wav, expected, wav});
  }
  if (out.empty()) throw mmm::FormatError("'" + path + "' names no recordings");
  return out;
}

void usage(std::FILE* to, const char* argv0) {
  std::fprintf(to,
               "usage: %s [WAV ...] [--model PATH] [--width K] [--expect TEXT] [--list FILE [--log-probs FILE]]\n"
               "Writes down the words spoken in each WAV file (any rate and channel count; digits and short\n"
               "commands). Without files: the shipped recordings in %s/inputs.tsv.\n",
               argv0, MMM_TRANSCRIBE_DIR);
}

// Prints "  12.0 s of 60.0 s" on one line, rewritten as the windows go.
void show_progress(double done, double total) {
  std::fprintf(stderr, "\r  heard %.1f s of %.1f s", done, total);
  if (done >= total) std::fprintf(stderr, "\n");
  std::fflush(stderr);
}

}  // namespace

int main(int argc, char** argv) {
  std::string model = std::string(MMM_TRANSCRIBE_DIR) + "/speech.safetensors", expect, list, log_probs_path;
  std::vector<std::string> wavs;
  long width = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", arg.c_str());
        usage(stderr, argv[0]);
        std::exit(2);
      }
      return argv[++i];
    };
    if (arg == "--model") model = value();
    else if (arg == "--expect") expect = value();
    else if (arg == "--list") list = value();
    else if (arg == "--log-probs") log_probs_path = value();
    else if (arg == "--width") {
      const std::string v = value();
      char* end = nullptr;
      width = std::strtol(v.c_str(), &end, 10);
      if (*end != '\0' || width < 1 || width > 64) {
        std::fprintf(stderr, "--width needs a whole number from 1 to 64, got '%s'\n", v.c_str());
        return 2;
      }
    } else if (arg == "-h" || arg == "--help") {
      usage(stdout, argv[0]);
      return 0;
    } else if (!arg.empty() && arg[0] == '-') {
      std::fprintf(stderr, "unknown option '%s'\n", arg.c_str());
      usage(stderr, argv[0]);
      return 2;
    } else {
      wavs.push_back(arg);
    }
  }
  if (!expect.empty() && wavs.size() != 1) {
    std::fprintf(stderr, "--expect needs exactly one WAV file\n");
    return 2;
  }
  if (!log_probs_path.empty() && list.empty()) {
    std::fprintf(stderr, "--log-probs goes with --list\n");
    return 2;
  }

  try {
    transcribe::Transcriber transcriber(model);
    if (!list.empty()) {
      std::vector<mmm::Tensor> kept;
      for (const Input& in : read_list(list)) {
        const mmm::Audio audio = transcribe::Transcriber::mono_16k(mmm::read_wav(in.path));
        const mmm::Seq<transcribe::label_count> lp = transcriber.log_probs(audio.samples.span());
        if (!log_probs_path.empty()) kept.push_back(lp.to_tensor());
        const auto greedy = transcriber.text(transcriber.greedy(lp).tokens(0));
        const mmm::generate::Hypotheses beam = transcriber.beam(lp, width);
        std::printf("%s\t%s\t%.9g\t%s\n", in.shown.c_str(), transcriber.text(beam.tokens(0)).c_str(),
                    static_cast<double>(beam.score(0)), greedy.c_str());
      }
      if (!log_probs_path.empty()) {
        std::vector<mmm::TensorEntry> entries;
        for (std::size_t i = 0; i < kept.size(); ++i) entries.emplace_back(std::to_string(i), kept[i]);
        mmm::save_safetensors(log_probs_path, std::move(entries));
      }
      return 0;
    }
    std::vector<Input> inputs;
    if (wavs.empty()) inputs = read_list(std::string(MMM_TRANSCRIBE_DIR) + "/inputs.tsv");
    for (const std::string& path : wavs) inputs.push_back({path, expect, path});

    // One second of silence first, so that the times below are those of a warm program (the
    // first call also starts the threads and touches every buffer).
    mmm::Audio silence;
    silence.samples = mmm::Tensor(mmm::Shape{1, transcribe::sample_rate});
    silence.sample_rate = transcribe::sample_rate;
    (void)transcriber.transcribe(silence, width);
    std::printf("mmm speech to text: %s\n\n", transcribe::SpeechModel::name().c_str());
    int wrong = 0;
    for (const Input& in : inputs) {
      const mmm::Audio audio = mmm::read_wav(in.path);
      std::printf("%s (%.2f s, %ld Hz, %ld channel%s)\n", in.shown.c_str(), audio.seconds(), static_cast<long>(audio.sample_rate),
                  static_cast<long>(audio.channels()), audio.channels() == 1 ? "" : "s");
      std::fflush(stdout);
      const auto start = std::chrono::steady_clock::now();
      const auto r = transcriber.transcribe(audio, width, show_progress);
      const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
      std::printf("  transcript: %s\n", r.text.c_str());
      if (!in.expected.empty()) {
        const bool right = r.text == in.expected;
        wrong += !right;
        std::printf("  true:       %s %s\n", in.expected.c_str(), right ? "(right)" : "(WRONG)");
      }
      const long w = width > 0 ? width : static_cast<long>(transcriber.beam_width());
      std::printf("  %.1f ms (%.0fx real time; %s)\n\n", ms, audio.seconds() * 1000.0 / ms,
                  w == 1 ? "greedy" : ("beam width " + std::to_string(w)).c_str());
    }
    if (!expect.empty() || wavs.empty())
      std::printf("%zu of %zu transcripts as expected\n", inputs.size() - static_cast<std::size_t>(wrong), inputs.size());
    return wrong == 0 ? 0 : 1;
  } catch (const mmm::Error& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "transcribe: %s\n", e.what());
    return 1;
  }
}
