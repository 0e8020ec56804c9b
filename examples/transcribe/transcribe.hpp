#pragma once
// Speech to text for a closed vocabulary (digit strings and short commands): the model of
// tools/train_speech.py, module for module (its state_dict loads as is), and everything
// between a WAV file and the model's input (downmixing, resampling to 16 kHz, log-mel) and
// between its frames and the transcript (chunking long audio, CTC decoding). Its methods are
// compiled once, in task.cpp (the library transcribe_task, task.cmake), for that task (the
// transcribe program and mmm-run, whose --list the full-set agreement run
// examples/transcribe/agreement.py uses), the parity test (tests/apps/transcribe.cpp) and the
// application benchmark.
//
//   features   torchaudio MelSpectrogram(16 kHz, n_fft 400, hop 160, 80 mels, power 2),
//              log(x + 1e-6), time-major: 100 frames a second
//   norm       LayerNorm(80) per frame
//   conv1      Conv1d(80, 128, 3, stride 2, padding 1) + GELU      (50 frames a second)
//   conv2      Conv1d(128, 128, 3, stride 2, padding 1) + GELU     (25 frames a second)
//   rnn        LSTM(128, 128, 2 layers, bidirectional)
//   out        Linear(256, 37): CTC logits over blank and 36 words
//
// Long audio is cut into windows of chunk_frames feature frames (6 s) that overlap by
// 2·chunk_margin (2 s); each window keeps the output frames of its middle (the first also
// its start, the last its end), so that every kept frame had a second of audio on either
// side, and the CTC decoder runs over the stitched frames of the whole recording —
// tools/train_speech.py's chunked_logits(), the same windows.

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "mmm/generate.hpp"
#include "mmm/pipeline.hpp"
#include "mmm/preprocess/audio/mel.hpp"
#include "mmm/preprocess/audio/resample.hpp"
#include "mmm/preprocess/audio/wav.hpp"

namespace transcribe {

using mmm::index;

inline constexpr int sample_rate = 16000;
inline constexpr index n_fft = 400, hop_length = 160;
inline constexpr index n_mels = 80;
inline constexpr float norm_eps = 1e-5f;  // the input LayerNorm's (torch's default)
inline constexpr index channels = 128;     // the convolutions'
inline constexpr index hidden = 128;       // the LSTM's, per direction
inline constexpr index label_count = 37;   // blank + tools/speech.py's WORDS, in the metadata
inline constexpr index frame_stride = 4;   // feature frames per output frame (two stride-2 convolutions)
inline constexpr index chunk_frames = 600;  // feature frames in one window of long audio (6 s)
inline constexpr index chunk_margin = 100;  // feature frames of context each window drops on each inner side
static_assert(chunk_frames % frame_stride == 0 && chunk_margin % frame_stride == 0 && chunk_frames > 2 * chunk_margin,
              "windows and margins must be whole output frames, and a window must keep something");

// Output frames of `frames` feature frames: two convolutions of kernel 3, stride 2, padding 1.
constexpr index output_frames(index frames) { return frames <= 0 ? 0 : ((frames - 1) / 2) / 2 + 1; }

// The acoustic model: N × T log-mels (Seq::lengths the frames of each) → N × T' CTC logits.
class SpeechModel : public mmm::ModuleBase<SpeechModel, mmm::Takes<mmm::Seq<n_mels>, mmm::Seq<label_count>>> {
  static constexpr mmm::Conv halve{.kernel = 3, .stride = 2, .pad = 1};

 public:
  static std::string name() { return "SpeechModel<LayerNorm, 2 × (Conv1D /2 + GELU), BiLSTM ×2, Linear>"; }

  static void parameters(auto& self, auto&& p) {
    p("norm", self.norm_);
    p("conv1", self.conv1_);
    p("conv2", self.conv2_);
    p("rnn", self.rnn_);
    p("out", self.out_);
  }

  mmm::Seq<label_count> forward(const mmm::Seq<n_mels>& x, mmm::Workspace& ws) const;

 private:
  mmm::LayerNorm<n_mels, mmm::Norm{.eps = norm_eps}> norm_;
  mmm::Conv1D<n_mels, channels, halve> conv1_;
  mmm::Conv1D<channels, channels, halve> conv2_;
  mmm::LSTM<channels, hidden, mmm::Rnn{.layers = 2, .bidirectional = true}> rnn_;
  mmm::Linear<2 * hidden, label_count> out_;
};

// The model, its labels and feature settings (from the weights' metadata), and buffers that
// grow to the longest recording seen and are reused after that.
class Transcriber {
 public:
  // `path`: speech.safetensors (examples/transcribe).
  explicit Transcriber(const std::string& path);

  // Any WAV's audio as the model hears it: the mean of its channels at 16 kHz (resampled as
  // torchaudio.functional.resample does).
  static mmm::Audio mono_16k(const mmm::Audio& audio) {
    mmm::Audio mono = audio.channels() == 1 ? audio : mmm::downmix(audio);
    return mono.sample_rate == sample_rate ? mono : mmm::resample(mono, sample_rate);
  }

  // Called after each window of long audio with the seconds done and the seconds in all.
  using Progress = std::function<void(double done, double total)>;

  // The log-mel features of 16 kHz mono samples, [frames, 80] (time-major): a view into this
  // Transcriber's buffer, valid until the next call; allocates nothing once a recording at
  // least as long has run.
  std::span<const float> features(std::span<const float> samples);

  // The per-frame log-probabilities (log_softmax of the logits) of [frames, 80] log-mels,
  // one window at a time when they are longer than one. A view into this Transcriber's
  // buffers, valid until the next call; allocates nothing once a recording at least as long
  // has run (beyond what `progress` does).
  mmm::Seq<label_count> log_probs_of_features(std::span<const float> features, const Progress& progress = {});

  // log_probs_of_features(features(samples)).
  mmm::Seq<label_count> log_probs(std::span<const float> samples, const Progress& progress = {}) {
    return log_probs_of_features(features(samples), progress);
  }

  // CTC prefix beam search (width 0: the model's) or greedy decoding of log_probs(): the best
  // labelling and its log-probability. A view into this Transcriber's Workspace, valid until
  // the next call; allocates nothing once a call as long has run.
  mmm::generate::Hypotheses beam(const mmm::Seq<label_count>& log_probs, index width = 0);
  mmm::generate::Hypotheses greedy(const mmm::Seq<label_count>& log_probs);

  struct Result {
    std::string text;
    std::vector<std::int32_t> labels;
    float score = 0;  // log P(labelling), as the decoder sums it
  };
  // The transcript of a recording (any rate and channel count) by beam search of the given
  // width (0: the model's; 1: greedy).
  Result transcribe(const mmm::Audio& audio, index width = 0, const Progress& progress = {});

  // The words of a labelling.
  std::string text(std::span<const std::int32_t> labels) const {
    std::string out;
    for (std::int32_t l : labels) {
      if (l <= 0 || l >= label_count) continue;
      if (!out.empty()) out += ' ';
      out += labels_[static_cast<std::size_t>(l)];
    }
    return out;
  }

  const SpeechModel& model() const { return model_; }
  const std::vector<std::string>& labels() const { return labels_; }
  index beam_width() const { return width_; }

 private:
  static mmm::LogMelOptions mel_options() {
    mmm::LogMelOptions o;
    o.mel_spectrogram.stft.n_fft = n_fft;
    o.mel_spectrogram.stft.hop_length = hop_length;
    o.mel_spectrogram.mel.sample_rate = sample_rate;
    o.mel_spectrogram.mel.n_mels = n_mels;
    o.log.offset = 1e-6f;
    return o;
  }

  SpeechModel model_;
  std::vector<std::string> labels_;
  index width_ = 8;
  mmm::LogMel log_mel_;
  std::vector<float> features_, logits_;
  mmm::Workspace workspace_;
};

}  // namespace transcribe
