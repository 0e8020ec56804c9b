// The speech-to-text application (examples/transcribe) against PyTorch, with its shipped
// weights, on a slice of its held-out recordings, on fresh ones of the unseen voices, on a
// long recording heard in several windows and on a 22.05 kHz stereo one (oracle:
// transcribe_oracle.py): the log-mel features, every frame's logits and log-probabilities,
// the greedy and the beam-search labellings, token for token. Then: a transcript allocates
// nothing once warm, and bad files are typed errors.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "mmm/pipeline.hpp"

#include "audio/audio_checks.hpp"
#include "support/allocation_counter.hpp"
#include "support/oracle.hpp"
#include "transcribe.hpp"

using namespace mmm;
using test::OracleCase;
using test::require_close;

namespace {

transcribe::Transcriber& transcriber() {
  static transcribe::Transcriber t(std::string(MMM_TRANSCRIBE_DIR) + "/speech.safetensors");
  return t;
}

std::span<const float> samples_of(const Tensor& t) { return {t.data(), static_cast<std::size_t>(t.numel())}; }

Tensor frames_tensor(std::span<const float> values, Index features) {  // [frames, features]
  const Index frames = static_cast<Index>(values.size()) / features;
  Tensor out(Shape{frames, features});
  std::copy(values.begin(), values.end(), out.data());
  return out;
}

void require_labels(std::span<const std::int32_t> ours, const IntTensor& theirs, const std::string& what) {
  INFO(what);
  REQUIRE(static_cast<Index>(ours.size()) == theirs.numel());
  for (std::size_t t = 0; t < ours.size(); ++t) CHECK(ours[t] == theirs[static_cast<Index>(t)]);
}

}  // namespace

TEST_CASE("the transcriber gives PyTorch's features, logits and transcripts on held-out, fresh and long recordings") {
  transcribe::Transcriber& tr = transcriber();
  int cases = 0, same = 0, right = 0, sensitive = 0;
  double worst_delta = 0;
  for (;; ++cases) {
    const std::string name = "recording" + std::to_string(cases);
    if (!std::filesystem::exists(test::oracle_dir() / (name + ".safetensors"))) break;
    OracleCase c(name);
    INFO(name << " (" << c.meta("kind") << ", " << c.meta("seconds") << " s): " << c.meta("truth"));
    const Tensor samples = c.input("samples");

    // The features: log(mel + 1e-6) at the audio area's bound (tests/audio/mel.cpp: a mel
    // band of one or two FFT bins holds a small fraction of the frame's power, and the float32
    // rounding of the FFT, relative to the frame's peak, becomes ~1e-4 in its logarithm).
    const Tensor features = frames_tensor(tr.features(samples_of(samples)), transcribe::n_mels);
    test::require_abs_close(features, c.output("features"), 2e-3, name + " log-mel features");
    test::require_abs_close(features, c.output("exact_features"), 2e-3, name + " log-mel features vs float64");

    // Every frame's logits and log-probabilities at 1e-4 relative — or, on a recording whose
    // float32 answer PyTorch itself gets only to δ of its float64 evaluation of the same
    // weights, at 2δ. The model's input LayerNorm normalizes each frame to unit variance, and
    // a near-silent frame's log-mels (all about log(1e-6)) differ by ~1e-6: there float32
    // rounding is amplified, and on some recordings δ reaches 1e-3 (see the README).
    const double delta = test::compare(c.output("log_probs"), c.output("exact_log_probs")).max_rel_error;
    const double tolerance = std::max(1e-4, 2 * delta);
    INFO("PyTorch float32 vs float64: " << delta << "; tolerance " << tolerance);
    const Tensor& expected_features = c.output("features");
    const Seq<transcribe::label_count> on_theirs = tr.log_probs_of_features(samples_of(expected_features));
    require_close(on_theirs.to_tensor().reshape(Shape{on_theirs.length, transcribe::label_count}), c.output("log_probs"),
                  tolerance, name + " log-probabilities (PyTorch's features)");

    // From the samples: mmm's features, then the model and the decoders.
    const Seq<transcribe::label_count> lp = tr.log_probs(samples_of(samples));
    require_close(lp.to_tensor().reshape(Shape{lp.length, transcribe::label_count}), c.output("log_probs"), tolerance,
                  name + " log-probabilities");
    require_close(lp.to_tensor().reshape(Shape{lp.length, transcribe::label_count}), c.output("exact_log_probs"), tolerance,
                  name + " log-probabilities vs float64");
    worst_delta = std::max(worst_delta, delta);
    sensitive += delta > 0.5e-4;

    const generate::Hypotheses greedy = tr.greedy(lp);
    require_labels(greedy.tokens(0), c.int_output("greedy"), name + " greedy labels");
    CHECK(tr.text(greedy.tokens(0)) == c.meta("greedy_transcript"));
    const generate::Hypotheses beam = tr.beam(lp);
    require_labels(beam.tokens(0), c.int_output("beam"), name + " beam labels");
    const double score = std::stod(c.meta("beam_score"));
    CHECK(std::abs(beam.score(0) - score) <= tolerance * std::max(1.0, std::abs(score)));
    const std::string text = tr.text(beam.tokens(0));
    CHECK(text == c.meta("transcript"));
    same += text == c.meta("transcript");
    right += text == c.meta("truth");
  }
  REQUIRE(cases > 0);
  CHECK(same == cases);
  WARN(same << " of " << cases << " transcripts as PyTorch's, " << right << " of " << cases << " right; "
             << sensitive << " recordings where PyTorch's float32 is off its float64 by more than 5e-5 (at most "
             << worst_delta << ")");
}

TEST_CASE("a stereo 22.05 kHz recording is downmixed and resampled as torchaudio does, and transcribed as PyTorch") {
  OracleCase c("stereo");
  Audio audio;
  audio.samples = c.input("samples");
  audio.sample_rate = std::stoi(c.meta("rate"));
  REQUIRE(audio.channels() == 2);
  const Audio mono = transcribe::Transcriber::mono_16k(audio);
  const Seq<transcribe::label_count> lp = transcriber().log_probs(samples_of(mono.samples));
  require_close(lp.to_tensor().reshape(Shape{lp.length, transcribe::label_count}), c.output("log_probs"), 1e-4,
                "stereo log-probabilities");
  CHECK(transcriber().transcribe(audio).text == c.meta("transcript"));
}

TEST_CASE("long audio reports its progress rising, and the whole length once, after the last window") {
  // 1001 frames: a window that is not the last ends one frame short of the end, where the
  // progress once reported the whole length twice.
  using transcribe::chunk_frames, transcribe::chunk_margin;
  constexpr Index step = chunk_frames - 2 * chunk_margin;
  for (const Index frames : {Index{1001}, Index{1000}, Index{1002}, chunk_frames + 1, Index{2345}}) {
    INFO(frames << " frames");
    const std::vector<float> features(static_cast<std::size_t>(frames * transcribe::n_mels), 0.25f);
    std::vector<std::pair<double, double>> calls;
    (void)transcriber().log_probs_of_features(features, [&](double done, double total) { calls.emplace_back(done, total); });
    REQUIRE(calls.size() >= 2);
    const double total = calls.back().second;
    CHECK(calls.back().first == total);
    for (std::size_t i = 0; i + 1 < calls.size(); ++i) {
      CHECK(calls[i].second == total);
      CHECK(calls[i].first < calls[i + 1].first);
      CHECK(calls[i].first < total);
    }
    CHECK(static_cast<Index>(calls.size()) == 1 + (frames - chunk_frames + step - 1) / step);  // one a window
  }
}

TEST_CASE("a transcript allocates nothing once a recording as long has run, in one window and in several") {
  transcribe::Transcriber& tr = transcriber();
  for (const double seconds : {2.5, 14.0}) {
    INFO(seconds << " s");
    std::vector<float> samples(static_cast<std::size_t>(seconds * transcribe::sample_rate));
    for (std::size_t i = 0; i < samples.size(); ++i) samples[i] = 0.3f * std::sin(0.01f * static_cast<float>(i * (i % 997)));
    int windows = 0;
    const transcribe::Transcriber::Progress count = [&](double, double) { ++windows; };
    (void)tr.beam(tr.log_probs(samples, count));
    (void)tr.greedy(tr.log_probs(samples, count));
    std::int64_t checksum = 0;
    const long during = test::allocations_during(
        [&] {
          const Seq<transcribe::label_count> lp = tr.log_probs(samples, count);
          checksum += tr.beam(lp).count(0) + tr.greedy(lp).count(0) + lp.length;
        },
        3);
#if !MMM_SANITIZED_BUILD
    CHECK(during == 0);
#else
    (void)during;
#endif
    CHECK(checksum > 0);
    CHECK((seconds > 6 ? windows > 2 : windows == 0));
  }
  // The counter sees allocations (a transcribe() builds its strings).
  Audio audio;
  audio.samples = Tensor(Shape{1, transcribe::sample_rate});
  audio.sample_rate = transcribe::sample_rate;
  const long before = test::allocations();
  (void)transcriber().transcribe(audio);
  CHECK(test::allocations() > before);
}

TEST_CASE("bad model files and recordings are typed errors naming the file") {
  const auto dir = std::filesystem::temp_directory_path() / "mmm_transcribe_errors";
  std::filesystem::create_directories(dir);
  const std::string missing = (dir / "missing.safetensors").string();
  std::filesystem::remove(missing);
  CHECK_THROWS_AS(transcribe::Transcriber(missing), IoError);
  // The captioner's weights are a valid file of another model: named tensors missing.
  CHECK_THROWS_AS(transcribe::Transcriber(std::string(MMM_TRANSCRIBE_DIR) + "/../caption/caption.safetensors"), Error);

  const std::string junk = (dir / "junk.wav").string();
  std::ofstream(junk) << "RIFF but not really a wave file";
  CHECK_THROWS_WITH(read_wav(junk), Catch::Contains("junk.wav"));
  CHECK_THROWS_AS(read_wav(junk), FormatError);
  CHECK_THROWS_AS(read_wav((dir / "absent.wav").string()), Error);

  Audio empty;
  empty.samples = Tensor(Shape{1, 0});
  empty.sample_rate = transcribe::sample_rate;
  CHECK_THROWS_AS(transcriber().transcribe(empty), RangeError);
  Audio blip;
  blip.samples = Tensor(Shape{2, 100});
  blip.sample_rate = 8000;
  CHECK_THROWS_WITH(transcriber().transcribe(blip), Catch::Contains("shorter than one"));
}
