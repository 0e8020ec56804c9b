#pragma once
// Audio preprocessing: everything between a WAV file and a model's input features.
//
//   wav.hpp       Audio (float [channels, frames] + rate), read_wav, encode_wav/write_wav, downmix
//   resample.hpp  Resampler / resample (torchaudio.functional.resample)
//   fft.hpp       RealFft, a planned real-input FFT of any length (Eigen)
//   fft_batch.hpp RealFftBatch, 16 real FFTs at once in SIMD lanes (what Stft uses)
//   stft.hpp      Stft plan (torch.stft / torchaudio Spectrogram), windows
//   mel.hpp       MelFilterbank, MelSpectrogram, LogMel, time_major
//   mfcc.hpp      Mfcc (torchaudio.transforms.MFCC)

#include "mmm/preprocess/wav.hpp"
#include "mmm/preprocess/resample.hpp"
#include "mmm/preprocess/fft.hpp"
#include "mmm/preprocess/fft_batch.hpp"
#include "mmm/preprocess/stft.hpp"
#include "mmm/preprocess/mel.hpp"
#include "mmm/preprocess/mfcc.hpp"
