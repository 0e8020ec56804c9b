#pragma once
// Audio preprocessing: everything between a WAV file and a model's input features.
//
//   audio/wav.hpp            Audio (float [channels, frames] + rate), read_wav, encode_wav/write_wav, downmix
//   audio/resample.hpp       Resampler / resample (torchaudio.functional.resample)
//   audio/fft.hpp            RealFft, a planned real-input FFT of any length (Eigen)
//   audio/fft_batch.hpp      RealFftBatch, 16 real FFTs at once in SIMD lanes (what Stft uses)
//   audio/stft.hpp           Stft plan (torch.stft / torchaudio Spectrogram), windows
//   audio/mel.hpp            MelFilterbank, MelSpectrogram, LogMel, time_major
//   audio/mfcc.hpp           Mfcc (torchaudio.transforms.MFCC)
//   audio/whisper.hpp        WhisperLogMel, Whisper's log_mel_spectrogram exactly (80 or 128 mels)
//
// From a file to Whisper's encoder input:
//
//   mmm::Audio audio = mmm::downmix(mmm::read_wav("clip.wav"));   // FormatError names the field
//   if (audio.sample_rate != 16000) audio = mmm::resample(audio, 16000);
//   mmm::WhisperLogMel whisper({.n_mels = 80, .pad_or_trim = true});
//   mmm::Tensor feats = whisper(audio, mmm::FeatureLayout::time_major);  // [3000, 80]
//   mmm::Seq<80> x(feats.data(), 1, feats.dim(0));                        // one sequence
//
// Other log-mels (torchaudio's MelSpectrogram + log or AmplitudeToDB) are LogMel:
//
//   mmm::LogMel logmel({.mel_spectrogram = {.stft = {.n_fft = 400, .hop_length = 160},
//                                           .mel = {.sample_rate = 16000, .n_mels = 80}}});
//
// Plans (Stft, MelSpectrogram, LogMel, Mfcc, Resampler) are built once and then write into
// caller buffers (compute(signal, view)) without allocating; each keeps its own scratch, so
// use one per thread.

#include "mmm/preprocess/audio/wav.hpp"
#include "mmm/preprocess/audio/resample.hpp"
#include "mmm/preprocess/audio/fft.hpp"
#include "mmm/preprocess/audio/fft_batch.hpp"
#include "mmm/preprocess/audio/stft.hpp"
#include "mmm/preprocess/audio/mel.hpp"
#include "mmm/preprocess/audio/mfcc.hpp"
#include "mmm/preprocess/audio/whisper.hpp"
