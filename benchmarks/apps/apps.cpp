// The four applications end to end (issue 14, item 7): each on its first shipped input, at
// batch 1, on 1 and 2 threads, from the model's input to the user's answer — what a person
// waits for once the file is read. Named as apps_torch.py and apps_ort.mjs report the same
// work, so run.sh can set them side by side.
//   Caption/mmm/threads:N     normalized 64×64 image → caption: the CNN encoder, the memory's
//                             keys and values, beam search (width 4, the model's) to <eos>
//   Transcribe/mmm/threads:N  log-mel features of a 16 kHz WAV → transcript: the acoustic
//                             model and CTC prefix beam search (width 8, the model's); the WAV
//                             decoding and log-mel (TranscribeFeatures/mmm) are timed apart,
//                             as ONNX Runtime has no log-mel to run
//   Draw/mmm/threads:N        prompt → 64×64 8-bit RGB picture: words to ids, text encoder,
//                             generator, pixels
//   Ask/mmm/threads:N         normalized image + question ids → answer: CNN, question LSTM,
//                             prefill of the joined sequence, greedy decoding (the model's)
// The label is the answer; a wrong one (not the shipped input's true result) is an error.
#include <benchmark/benchmark.h>

#include <fstream>
#include <string>
#include <vector>

#include "../../examples/assistant/assistant.hpp"
#include "../../examples/caption/caption.hpp"
#include "../../examples/draw/draw.hpp"
#include "../../examples/support/example.hpp"
#include "../../examples/transcribe/transcribe.hpp"

namespace {

const std::string examples_dir = MMM_EXAMPLES_DIR;

// The first line of an example's inputs.tsv: its file, then its fields.
examples::Input first_input(const std::string& example) {
  return examples::read_list(examples_dir + "/" + example + "/inputs.tsv", 1).front();
}

// Runs `answer` (which gives the result's text) once per iteration on `threads` threads.
template <class Answer>
void timed(benchmark::State& bench, int threads, const std::string& expected, Answer&& answer) {
  mmm::set_num_threads(threads);
  const std::string first = answer();
  if (!expected.empty() && first != expected) bench.SkipWithError(("answered '" + first + "', not '" + expected + "'").c_str());
  for (auto _ : bench) benchmark::DoNotOptimize(answer());
  bench.SetLabel(first);
  mmm::set_num_threads(0);
}

void caption_app(benchmark::State& bench, int threads) {
  const examples::Input in = first_input("caption");
  caption::Describer describer(examples_dir + "/caption/caption.safetensors");
  const mmm::Tensor input = describer.image_input(mmm::read_image(in.path));
  timed(bench, threads, in.field(0), [&] { return describer.text(describer.beam(input).tokens(0)); });
}

void transcribe_app(benchmark::State& bench, int threads) {
  const examples::Input in = first_input("transcribe");
  transcribe::Transcriber transcriber(examples_dir + "/transcribe/speech.safetensors");
  const mmm::Audio audio = transcribe::Transcriber::mono_16k(mmm::read_wav(in.path));
  const std::span<const float> computed = transcriber.features(audio.samples.span());
  const std::vector<float> features(computed.begin(), computed.end());
  timed(bench, threads, in.field(0),
        [&] { return transcriber.text(transcriber.beam(transcriber.log_probs_of_features(features)).tokens(0)); });
}

void transcribe_features(benchmark::State& bench, int threads) {
  const examples::Input in = first_input("transcribe");
  transcribe::Transcriber transcriber(examples_dir + "/transcribe/speech.safetensors");
  const mmm::Audio audio = transcribe::Transcriber::mono_16k(mmm::read_wav(in.path));
  timed(bench, threads, "", [&] { return std::to_string(transcriber.features(audio.samples.span()).size() / transcribe::n_mels) + " frames"; });
}

void draw_app(benchmark::State& bench, int threads) {
  std::ifstream prompts(examples_dir + "/draw/prompts.txt");
  std::string prompt;
  while (std::getline(prompts, prompt) && (prompt.empty() || prompt[0] == '#')) {
  }
  draw::Painter painter(examples_dir + "/draw/draw.safetensors");
  timed(bench, threads, "", [&] {
    const mmm::Image& picture = painter.draw(prompt);
    return std::to_string(picture.width()) + "x" + std::to_string(picture.height()) + " \"" + prompt + "\"";
  });
}

void ask_app(benchmark::State& bench, int threads) {
  const examples::Input in = examples::read_list(examples_dir + "/assistant/inputs.tsv", 2).front();
  assistant::Answerer answerer(examples_dir + "/assistant/assistant.safetensors");
  const mmm::Tensor image = answerer.image_input(mmm::read_image(in.path));
  const std::vector<std::int32_t> question = answerer.question_input(in.field(0));
  if (answerer.beam_width() != 1) bench.SkipWithError("the assistant's default decoding is no longer greedy");
  timed(bench, threads, in.field(1), [&] { return answerer.text(answerer.greedy(image, question).tokens(0)); });
}

}  // namespace

int main(int argc, char** argv) {
  for (const int threads : {1, 2}) {
    const std::string t = "/mmm/threads:" + std::to_string(threads);
    benchmark::RegisterBenchmark(("Caption" + t).c_str(), caption_app, threads)->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("Transcribe" + t).c_str(), transcribe_app, threads)->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("TranscribeFeatures" + t).c_str(), transcribe_features, threads)->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("Draw" + t).c_str(), draw_app, threads)->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("Ask" + t).c_str(), ask_app, threads)->Unit(benchmark::kMillisecond);
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
}
