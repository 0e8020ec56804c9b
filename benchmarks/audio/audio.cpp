// Audio preprocessing throughput, one thread. The peer is torchaudio (same work, same run):
// benchmarks/audio/run.sh runs this and torchaudio_peer.py and prints the ratios.
//
//   LogMel/mmm/16k_30s      log(MelSpectrogram + 1e-6) of 30 s at 16 kHz: n_fft 400, win
//                           400 Hann, hop 160, 80 HTK mels, center/reflect (3001 frames).
//                           Counter audio_s_per_s = seconds of audio per second.
//   WhisperLogMel/mmm/16k_30s  Whisper's log_mel_spectrogram (80 Slaney mels, log10, clamp at
//                           max - 8, (x + 4) / 4) of the same 30 s; the peer is Whisper's
//                           formula (whisper/audio.py) in torch, as the parity oracle writes it.
//   Mfcc/mmm/16k_30s        MFCC 40 of 128 mels (torchaudio defaults), same signal.
//   RealFft/eigen/<n>       one real FFT of length n (Eigen's kissfft), transforms/s.
//   RealFft/mmm_batch/<n>   RealFftBatch: 16 real FFTs of length n per call (what Stft uses).
//   Resample/mmm/44100to16000_30s   resample() including the kernel build, as torchaudio.
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include <mmm/preprocess/audio.hpp>

namespace {

std::vector<float> noise(mmm::index n, unsigned seed = 1) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> d(0.0f, 0.3f);
  std::vector<float> x(static_cast<std::size_t>(n));
  for (float& v : x) v = d(gen);
  return x;
}

constexpr int seconds = 30;

// Whisper's STFT sizes with torchaudio's MelSpectrogram defaults (HTK mels, no norm): not Whisper's features.
mmm::LogMelOptions log_mel_options() {
  mmm::LogMelOptions o;
  o.mel_spectrogram.stft = {.n_fft = 400, .hop_length = 160};
  o.mel_spectrogram.mel = {.sample_rate = 16000, .n_mels = 80};
  o.log = {.kind = mmm::LogKind::natural, .offset = 1e-6f};
  return o;
}

void LogMel(benchmark::State& state) {
  const std::vector<float> x = noise(16000 * seconds);
  mmm::LogMel logmel(log_mel_options());
  mmm::Tensor out(mmm::Shape{logmel.n_mels(), logmel.frames(mmm::index(x.size()))});
  for (auto _ : state) {
    logmel.compute(x, out.view());
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["audio_s_per_s"] = benchmark::Counter(double(seconds), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(LogMel)->Name("LogMel/mmm/16k_30s")->Unit(benchmark::kMillisecond)->UseRealTime();

void WhisperLogMel(benchmark::State& state) {
  const std::vector<float> x = noise(16000 * seconds);
  mmm::WhisperLogMel whisper;
  mmm::Tensor out(mmm::Shape{whisper.n_mels(), whisper.frames(mmm::index(x.size()))});
  for (auto _ : state) {
    whisper.compute(x, out.view());
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["audio_s_per_s"] = benchmark::Counter(double(seconds), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(WhisperLogMel)->Name("WhisperLogMel/mmm/16k_30s")->Unit(benchmark::kMillisecond)->UseRealTime();

void Mfcc(benchmark::State& state) {
  const std::vector<float> x = noise(16000 * seconds);
  mmm::Mfcc mfcc({});
  mmm::Tensor out(mmm::Shape{mfcc.n_mfcc(), mfcc.frames(mmm::index(x.size()))});
  for (auto _ : state) {
    mfcc.compute(x, out.view());
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["audio_s_per_s"] = benchmark::Counter(double(seconds), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(Mfcc)->Name("Mfcc/mmm/16k_30s")->Unit(benchmark::kMillisecond)->UseRealTime();

void Fft(benchmark::State& state) {
  const mmm::index n = state.range(0);
  const std::vector<float> x = noise(n);
  std::vector<std::complex<float>> y(static_cast<std::size_t>(n / 2 + 1));
  mmm::RealFft fft(n);
  for (auto _ : state) {
    fft.forward(x.data(), y.data());
    benchmark::DoNotOptimize(y.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(Fft)->Name("RealFft/eigen")->Arg(400)->Arg(512)->Arg(511)->Arg(1024)->Arg(509)->Arg(2039)->UseRealTime();

// RealFftBatch: `lanes` transforms per call; items/s counts transforms.
void FftBatch(benchmark::State& state) {
  const mmm::index n = state.range(0);
  constexpr mmm::index lanes = mmm::RealFftBatch::lanes;
  const std::vector<float> x = noise(n * lanes);
  mmm::RealFftBatch fft(n);
  std::vector<float> y(static_cast<std::size_t>(2 * fft.bins() * lanes));
  for (auto _ : state) {
    fft.forward(x.data(), y.data());
    benchmark::DoNotOptimize(y.data());
  }
  state.SetItemsProcessed(state.iterations() * lanes);
  state.counters["transforms_per_iteration"] = double(lanes);  // compare.py divides by it
}
// 509, 2039, 8191: primes, which the plan runs as Bluestein convolutions.
BENCHMARK(FftBatch)->Name("RealFft/mmm_batch")->Arg(400)->Arg(512)->Arg(511)->Arg(1024)->Arg(509)->Arg(2039)->Arg(8191)->UseRealTime();

void Resample(benchmark::State& state) {
  mmm::Audio in{mmm::Tensor(mmm::Shape{1, 44100 * seconds}), 44100};
  const std::vector<float> x = noise(44100 * seconds);
  std::copy(x.begin(), x.end(), in.samples.data());
  for (auto _ : state) {
    mmm::Audio out = mmm::resample(in, 16000);
    benchmark::DoNotOptimize(out.samples.data());
  }
  state.counters["audio_s_per_s"] = benchmark::Counter(double(seconds), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(Resample)->Name("Resample/mmm/44100to16000_30s")->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
