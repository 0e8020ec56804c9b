"""torchaudio.functional.resample oracle: up and down between 8k/16k/22.05k/44.1k/48k, odd
lengths, Hann and Kaiser windows, non-default filter widths and rolloffs, multichannel."""
import torch
import torchaudio.functional as F
from mmm_oracle import Oracle

# (orig, new, channels, length, lowpass_filter_width, rolloff, method, beta)
CASES = [
    (16000, 44100, 1, 16001, 6, 0.99, "sinc_interpolation", None),
    (44100, 16000, 2, 44100 + 37, 6, 0.99, "sinc_interpolation", None),
    (44100, 8000, 1, 20011, 6, 0.99, "sinc_interpolation", None),
    (8000, 16000, 1, 7999, 6, 0.99, "sinc_interpolation", None),
    (22050, 16000, 3, 22051, 6, 0.99, "sinc_interpolation", None),
    (16000, 8000, 1, 12345, 16, 0.95, "kaiser_window", None),
    (48000, 44100, 1, 4801, 8, 0.9, "kaiser_window", 8.5),
    (8000, 44100, 1, 1001, 6, 0.99, "sinc_interpolation", None),
    (16000, 16000, 1, 999, 6, 0.99, "sinc_interpolation", None),
    (3, 2, 1, 5, 4, 0.99, "sinc_interpolation", None),
]

with Oracle("audio.resample") as o:
    for i, (orig, new, ch, length, width, rolloff, method, beta) in enumerate(CASES):
        x = torch.randn(ch, length) * 0.5
        y = F.resample(x, orig, new, lowpass_filter_width=width, rolloff=rolloff, resampling_method=method, beta=beta)
        meta = dict(orig=orig, new=new, width=width, rolloff=rolloff, method=method,
                    beta="" if beta is None else beta)
        o.save(f"case{i}", inputs={"x": x}, outputs={"y": y}, metadata=meta)
