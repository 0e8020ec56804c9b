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

// The methods of transcribe.hpp, here so that the model's templates compile once for the
// transcribe program, mmm-run, the parity test (tests/apps) and the application benchmark,
// which all link this TU (each of those that compiled the model itself spent 15-30 CPU-s
// on the same templates).

mmm::Seq<label_count> SpeechModel::forward(const mmm::Seq<n_mels>& x, mmm::Workspace& ws) const {
  const mmm::Workspace::Mark start = ws.mark();
  const mmm::Seq<n_mels> normed = norm_.forward(x, ws);
  const mmm::Seq<channels> c1 = conv1_.forward_fused(normed, ws, mmm::kernels::Activation::gelu);
  const mmm::Seq<channels> c2 = conv2_.forward_fused(c1, ws, mmm::kernels::Activation::gelu);
  const mmm::Seq<2 * hidden> h = rnn_.forward(c2, ws);
  const mmm::Seq<label_count> y = out_.forward(h, ws);
  ws.release_except(start, y);
  return y;
}

Transcriber::Transcriber(const std::string& path) : log_mel_(mel_options()) {
  const mmm::SafeTensors weights(path);
  mmm::load(model_, weights);
  auto expect = [&](const std::string& key, double value) {
    if (weights.metadata_number(key) != value)
      throw mmm::FormatError(weights.path() + ": metadata '" + key + "' is " + weights.metadata(key) +
                             ", this program computes with " + std::to_string(value));
  };
  labels_ = weights.metadata_strings("labels");
  expect("sample_rate", sample_rate);
  expect("n_fft", n_fft);
  expect("hop_length", hop_length);
  expect("n_mels", n_mels);
  expect("log_offset", 1e-6);
  if (static_cast<float>(weights.metadata_number("norm_eps")) != norm_eps)
    throw mmm::FormatError(weights.path() + ": metadata 'norm_eps' is " + weights.metadata("norm_eps") +
                           ", this program's LayerNorm has " + std::to_string(norm_eps));
  width_ = static_cast<index>(weights.metadata_integer("beam_width", 1, 64));
  if (static_cast<index>(labels_.size()) != label_count || labels_[0] != "<blank>")
    throw mmm::FormatError(weights.path() + ": " + std::to_string(labels_.size()) +
                           " labels in the metadata (blank first), the model has " + std::to_string(label_count));
}

std::span<const float> Transcriber::features(std::span<const float> samples) {
  const index length = static_cast<index>(samples.size());
  if (length < n_fft)
    throw mmm::RangeError("transcribe: " + std::to_string(length) + " samples at 16 kHz is shorter than one " +
                          std::to_string(n_fft) + "-sample analysis window (25 ms)");
  const auto size = static_cast<std::size_t>(mmm::checked_mul(log_mel_.frames(length), n_mels, "transcribe features"));
  if (features_.size() < size) features_.resize(size);
  log_mel_.compute(samples, features_.data(), 1, n_mels);
  return {features_.data(), size};
}

mmm::Seq<label_count> Transcriber::log_probs_of_features(std::span<const float> features, const Progress& progress) {
  const index frames = static_cast<index>(features.size()) / n_mels, out_frames = output_frames(frames);
  if (frames < 1 || static_cast<index>(features.size()) != frames * n_mels)
    throw mmm::ShapeError("transcribe: " + std::to_string(features.size()) + " feature values are not whole frames of " +
                          std::to_string(n_mels));
  const auto size = static_cast<std::size_t>(mmm::checked_mul(out_frames, label_count, "transcribe logits"));
  if (logits_.size() < size) logits_.resize(size);
  for (index start = 0;; start += chunk_frames - 2 * chunk_margin) {
    const bool first = start == 0, last = start + chunk_frames >= frames;
    const index count = last ? frames - start : chunk_frames;
    workspace_.reset();
    const mmm::Seq<label_count> y = model_.forward(mmm::Seq<n_mels>(features.data() + start * n_mels, 1, count), workspace_);
    const index keep_from = first ? 0 : chunk_margin / frame_stride;
    const index keep_to = last ? y.length : (chunk_frames - chunk_margin) / frame_stride;
    std::memcpy(logits_.data() + (start / frame_stride + keep_from) * label_count, y.data + keep_from * label_count,
                sizeof(float) * static_cast<std::size_t>((keep_to - keep_from) * label_count));
    // The time transcribed so far: up to the kept frames' end, which before the last window
    // is at least the margin short of the end, so that `total` is reported exactly once.
    if (progress && !(first && last)) {
      const double total = static_cast<double>(frames - 1) * hop_length / sample_rate;
      progress(last ? total : static_cast<double>((start + chunk_frames - chunk_margin) * hop_length) / sample_rate, total);
    }
    if (last) break;
  }
  mmm::kernels::log_softmax(logits_.data(), logits_.data(), out_frames, label_count);
  return {logits_.data(), 1, out_frames};
}

mmm::generate::Hypotheses Transcriber::beam(const mmm::Seq<label_count>& log_probs, index width) {
  workspace_.reset();
  return mmm::generate::ctc_beam_search(log_probs, {.width = width > 0 ? width : width_, .blank = 0, .n_best = 1}, workspace_);
}

mmm::generate::Hypotheses Transcriber::greedy(const mmm::Seq<label_count>& log_probs) {
  workspace_.reset();
  return mmm::generate::ctc_greedy(log_probs, 0, workspace_);
}

Transcriber::Result Transcriber::transcribe(const mmm::Audio& audio, index width, const Progress& progress) {
  if (audio.frames() == 0) throw mmm::RangeError("transcribe: the recording has no samples");
  const mmm::Audio mono = mono_16k(audio);
  const mmm::Seq<label_count> lp = log_probs(mono.samples.span(), progress);
  const mmm::generate::Hypotheses h = width == 1 ? greedy(lp) : beam(lp, width);
  const auto labels = h.tokens(0);
  return {text(labels), {labels.begin(), labels.end()}, h.score(0)};
}

}  // namespace transcribe
