// Speech to text: a WAV file in, its words out ("turn on the light", "call three one four").
// The `transcribe` program and `mmm-run transcribe`.
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
#include <cstdio>
#include <string>
#include <vector>

#include "../support/example.hpp"
#include "transcribe.hpp"

namespace transcribe {

namespace {

// "  heard 12.0 s of 60.0 s" on one line of stderr, rewritten as the windows go; the
// Transcriber reports the whole length exactly once, after the last window.
void show_progress(double done, double total) {
  std::fprintf(stderr, "\r  heard %.1f s of %.1f s", done, total);
  if (done >= total) std::fprintf(stderr, "\n");
  std::fflush(stderr);
}

// agreement.py's run: every recording of a list, beam and greedy, optionally with the
// log-probabilities.
int transcribe_list(Transcriber& transcriber, const std::string& list, long width, const std::string& log_probs_path) {
  std::vector<mmm::Tensor> kept;
  for (const examples::Input& in : examples::read_list(list)) {
    const mmm::Audio audio = Transcriber::mono_16k(mmm::read_wav(in.path));
    const mmm::Seq<label_count> lp = transcriber.log_probs(audio.samples.span());
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

}  // namespace

int run(const examples::Invocation& how) {
  static const char usage[] =
      "usage: %s WAV [WAV ...] [--model PATH] [--width K] [--expect TEXT] [--list FILE [--log-probs FILE]]\n"
      "Writes down the words spoken in each WAV file (any rate and channel count): digit strings and\n"
      "short commands of a few dozen words (examples/transcribe/README.md). Recordings longer than\n"
      "6 s are heard in overlapping windows, with a progress line on stderr.\n"
      "Without files, the example program transcribes its shipped recordings.\n";
  return examples::run(how, usage, [&] {
    examples::DecodingOptions options(how, "speech.safetensors");
    std::string log_probs_path;
    const auto wavs = options.command_line({{"--log-probs", log_probs_path}}).parse(how.args);
    const auto& [model, expect, list, width] = options;
    if (!log_probs_path.empty() && list.empty()) throw examples::UsageError{"--log-probs goes with --list"};
    const auto inputs = list.empty() ? examples::inputs_of(how, examples::files(wavs), expect) : std::vector<examples::Input>{};

    Transcriber transcriber(model);
    if (!list.empty()) return transcribe_list(transcriber, list, width, log_probs_path);

    // One second of silence first, so that the times below are those of a warm program (the
    // first call also starts the threads and touches every buffer).
    mmm::Audio silence;
    silence.samples = mmm::Tensor(mmm::Shape{1, sample_rate});
    silence.sample_rate = sample_rate;
    (void)transcriber.transcribe(silence, width);
    std::printf("mmm speech to text: %s\n\n", SpeechModel::name().c_str());
    examples::Tally tally;
    for (const examples::Input& in : inputs) {
      const mmm::Audio audio = mmm::read_wav(in.path);
      std::printf("%s (%.2f s, %ld Hz, %ld channel%s)\n", in.shown.c_str(), audio.seconds(), static_cast<long>(audio.sample_rate),
                  static_cast<long>(audio.channels()), audio.channels() == 1 ? "" : "s");
      std::fflush(stdout);
      const examples::Stopwatch clock;
      const auto r = transcriber.transcribe(audio, width, show_progress);
      const double ms = clock.milliseconds();
      std::printf("  transcript: %s\n", r.text.c_str());
      tally.check("true:       ", in.field(0), r.text);
      const long w = width > 0 ? width : static_cast<long>(transcriber.beam_width());
      std::printf("  %.1f ms (%.0fx real time; %s)\n\n", ms, audio.seconds() * 1000.0 / ms,
                  w == 1 ? "greedy" : ("beam width " + std::to_string(w)).c_str());
    }
    return tally.finish("transcripts as expected");
  });
}

}  // namespace transcribe
