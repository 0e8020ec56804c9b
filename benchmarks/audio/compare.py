"""Medians over run.sh's rounds and the mmm/torchaudio ratios, as a Markdown table."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
from bench_rounds import load_rounds, median  # noqa: E402

out, command = sys.argv[1], sys.argv[2]
rows, _ = load_rounds(out, per_iteration="transforms_per_iteration")

WORK = {  # workload -> (mmm name, peer name, unit note)
    "log-mel 30 s @16 kHz (n_fft 400, hop 160, 80 mels)": ("LogMel/mmm/16k_30s", "LogMel/torchaudio/16k_30s"),
    "Whisper log_mel_spectrogram 30 s (80 Slaney mels; peer: Whisper's formula in torch)": (
        "WhisperLogMel/mmm/16k_30s", "WhisperLogMel/torch/16k_30s"),
    "MFCC 40 (128 mels) 30 s @16 kHz": ("Mfcc/mmm/16k_30s", "Mfcc/torchaudio/16k_30s"),
    "resample 30 s 44.1 kHz -> 16 kHz": ("Resample/mmm/44100to16000_30s", "Resample/torchaudio/44100to16000_30s"),
}
for n in (400, 512, 511, 1024):
    WORK[f"real FFT n={n}, per transform: mmm RealFftBatch (16 lanes)"] = (f"RealFft/mmm_batch/{n}", f"RealFft/torch/{n}")
    WORK[f"real FFT n={n}, per transform: Eigen FFT (kissfft)"] = (f"RealFft/eigen/{n}", f"RealFft/torch/{n}")


def med(name, i):
    return median(rows, name, i)


print(f"Command: `{command}`; medians of {max(len(v) for v in rows.values())} rounds, 1 thread.\n")
print("Ratio = mmm time / torchaudio time (≤ 1.0: mmm at least as fast). CPU time is the less noisy on a shared machine.")
print("FFT rows: torch is torch.fft.rfft (pocketfft) over a [3001, n] batch in one call; times per transform.\n")
print("| Workload | mmm real | mmm CPU | torchaudio real | torchaudio CPU | ratio (real) | ratio (CPU) | mmm audio s/s (CPU) |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
for work, (ours, peer) in WORK.items():
    if ours not in rows or peer not in rows:
        continue
    r_m, c_m, r_p, c_p = med(ours, 0), med(ours, 1), med(peer, 0), med(peer, 1)
    speed = f"{30e3 / c_m:,.0f}" if "30 s" in work else ""
    fmt = (lambda v: f"{v * 1e3:.2f} µs") if "FFT" in work else (lambda v: f"{v:.2f} ms")
    print(f"| {work} | {fmt(r_m)} | {fmt(c_m)} | {fmt(r_p)} | {fmt(c_p)} | {r_m / r_p:.2f} | {c_m / c_p:.2f} | {speed} |")
