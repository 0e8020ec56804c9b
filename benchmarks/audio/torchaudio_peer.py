"""The torchaudio side of bench_audio: the same work on the same shapes, one thread,
printed as Google Benchmark JSON (real_time and cpu_time in ns per iteration) so that
run.sh / scripts/bench.sh can put both side by side.

Run with Debian's interpreter and without this machine's OpenBLAS overrides:
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 torchaudio_peer.py
"""
import argparse
import json
import time
import warnings

import torch
import torchaudio

SECONDS = 30


def measure(fn, min_time):
    """Runs fn until min_time seconds of wall time have passed; ns per call (real, cpu)."""
    fn()  # warm up: plans, caches, lazy initialization
    n, t0, c0 = 0, time.perf_counter(), time.process_time()
    while True:
        fn()
        n += 1
        real = time.perf_counter() - t0
        if real >= min_time and n >= 3:
            return real / n * 1e9, (time.process_time() - c0) / n * 1e9, n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--min-time", type=float, default=0.5)
    args = ap.parse_args()
    warnings.simplefilter("ignore")  # MFCC's 128 mels over 201 bins leave empty filters; torchaudio warns
    torch.set_num_threads(1)
    torch.manual_seed(1)
    x16 = torch.randn(16000 * SECONDS) * 0.3
    x44 = torch.randn(1, 44100 * SECONDS) * 0.3
    mel = torchaudio.transforms.MelSpectrogram(sample_rate=16000, n_fft=400, win_length=400, hop_length=160, n_mels=80)
    mfcc = torchaudio.transforms.MFCC(sample_rate=16000)
    whisper_window = torch.hann_window(400)
    whisper_filters = torchaudio.functional.melscale_fbanks(201, 0.0, 8000.0, 80, 16000, norm="slaney",
                                                            mel_scale="slaney").T.contiguous()

    def whisper_log_mel(audio):
        # whisper/audio.py's log_mel_spectrogram, with librosa's filters from torchaudio (the same Slaney ones).
        stft = torch.stft(audio, 400, 160, window=whisper_window, return_complex=True)
        magnitudes = stft[..., :-1].abs() ** 2
        log_spec = torch.clamp(whisper_filters @ magnitudes, min=1e-10).log10()
        log_spec = torch.maximum(log_spec, log_spec.max() - 8.0)
        return (log_spec + 4.0) / 4.0
    results = []

    def add(name, fn, per_call=1, counters=None):
        real, cpu, n = measure(fn, args.min_time)
        row = {"name": name, "run_name": name, "run_type": "iteration", "iterations": n * per_call,
               "real_time": real / per_call, "cpu_time": cpu / per_call, "time_unit": "ns"}
        row.update(counters or {})
        results.append(row)

    with torch.inference_mode():
        add("LogMel/torchaudio/16k_30s/real_time", lambda: torch.log(mel(x16) + 1e-6))
        add("WhisperLogMel/torch/16k_30s/real_time", lambda: whisper_log_mel(x16))
        add("Mfcc/torchaudio/16k_30s/real_time", lambda: mfcc(x16))
        # The FFT alone: torch.fft.rfft over a batch of frames (one call, pocketfft), per transform.
        for n in (400, 512, 511, 1024):
            frames = torch.randn(3001, n)
            add(f"RealFft/torch/{n}/real_time", lambda: torch.fft.rfft(frames, dim=-1), per_call=3001)
        add("Resample/torchaudio/44100to16000_30s/real_time",
            lambda: torchaudio.functional.resample(x44, 44100, 16000))
    for r in results:
        if "RealFft" not in r["name"]:
            r["audio_s_per_s"] = SECONDS / (r["real_time"] * 1e-9)
    print(json.dumps({"context": {"library": f"torch {torch.__version__}, torchaudio {torchaudio.__version__}",
                                  "threads": torch.get_num_threads()},
                      "benchmarks": results}, indent=1))


if __name__ == "__main__":
    main()
