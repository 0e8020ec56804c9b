"""torch.stft oracle: complex spectra and magnitudes for several n_fft (powers of two,
400 = 2^4·5^2, odd and prime, large prime factors), hops, windows, centre/padding modes,
sidedness and both normalizations (torch.stft's frame length, torchaudio Spectrogram's
window norm)."""
import torch
import torchaudio
from mmm_oracle import Oracle

# (n_fft, win_length, hop, window, center, pad_mode, normalized, onesided, length)
CASES = [
    (400, 400, 160, "hann", True, "reflect", False, True, 16037),
    (511, 511, 128, "hamming", True, "constant", False, True, 5003),
    (257, 200, 64, "hann", False, "reflect", True, True, 3001),
    (512, 512, 128, "hann", True, "reflect", False, False, 4097),
    (400, 300, 100, "hamming", True, "reflect", False, True, 2345),
    (16, 16, 4, "hann", True, "reflect", False, True, 9),
    (1024, 1024, 256, "hann", False, "reflect", False, True, 10007),
    (510, 510, 160, "hann", True, "replicate", False, True, 7777),
    (97, 60, 31, "hamming", True, "reflect", True, False, 1234),
    (1, 1, 1, "hann", False, "reflect", False, True, 17),
    # large prime factors: Bluestein's convolution inside the plan (509 prime, 2062 = 2·1031)
    (509, 509, 160, "hann", True, "reflect", False, True, 6007),
    (2062, 1500, 512, "hamming", True, "reflect", False, True, 9001),
    # normalized "window": torchaudio's Spectrogram(normalized=True, pad=13) divides by the
    # window's L2 norm (and pads 13 zeros on each side first)
    (400, 320, 160, "hann", True, "reflect", "window", True, 4001),
]

WINDOWS = {"hann": torch.hann_window, "hamming": torch.hamming_window}

with Oracle("audio.stft") as o:
    for i, (n_fft, win, hop, window, center, pad_mode, normalized, onesided, length) in enumerate(CASES):
        x = torch.randn(length)
        w = WINDOWS[window](win)
        if normalized == "window":
            spec = torchaudio.functional.spectrogram(x, pad=13, window=w, n_fft=n_fft, hop_length=hop, win_length=win,
                                                     power=None, normalized=True, center=center, pad_mode=pad_mode,
                                                     onesided=onesided)
        else:
            spec = torch.stft(x, n_fft, hop_length=hop, win_length=win, window=w, center=center, pad_mode=pad_mode,
                              normalized=normalized, onesided=onesided, return_complex=True)
        meta = dict(n_fft=n_fft, win_length=win, hop=hop, window=window, center=int(center), pad_mode=pad_mode,
                    normalized=normalized if isinstance(normalized, str) else int(normalized), onesided=int(onesided))
        o.save(f"case{i}", inputs={"x": x},
               outputs={"complex": torch.view_as_real(spec), "magnitude": spec.abs(), "power": spec.abs() ** 2},
               metadata=meta)
