"""torchaudio oracle for mel filterbanks, MelSpectrogram, log-mel (natural log and
AmplitudeToDB with top_db) and MFCC, on random signals of odd lengths; and Whisper's
log_mel_spectrogram, written from Whisper's published code (audio.py): torch.stft with a
periodic Hann window (400, hop 160, centred, reflect), |X|^2 without the last frame, the
Slaney-scale Slaney-norm filterbank (librosa's, here torchaudio.functional.melscale_fbanks),
log10 of max(x, 1e-10), clamped at max - 8, (x + 4) / 4; padding appended before, or the
audio cut or zero-padded to 30 s first (whisper.pad_or_trim).

The mel spectrogram also comes computed in float64 throughout, its filterbank included
(with torch's float32 result beside it, for require_close_to_float64): torchaudio builds
the filterbank in float32, and a weight off by ~1e-5 of the largest, applied to a strong
bin, moved a weak band next to it by 1.35e-4 of itself in one CI run. mmm builds the
filterbank in double and sits ~1e-6 from the float64 result, torch's float32 ~1e-5."""
import torch
import torchaudio
from mmm_oracle import Oracle, with_float32

# (sample_rate, n_fft, win_length, hop, n_mels, f_min, f_max, norm, mel_scale, power, length[, pad])
MEL_CASES = [
    (16000, 400, 400, 160, 80, 0.0, None, None, "htk", 2.0, 16000 * 2 + 123),
    (16000, 512, 400, 160, 64, 20.0, 7600.0, "slaney", "slaney", 2.0, 9001),
    (22050, 1024, 1024, 256, 128, 0.0, None, "slaney", "htk", 1.0, 22050 + 77),
    (8000, 257, 257, 80, 40, 50.0, 3900.0, None, "slaney", 1.0, 4099),
    (44100, 2048, 2048, 512, 128, 0.0, None, None, "htk", 2.0, 30011),
    (16000, 511, 511, 128, 23, 0.0, None, "slaney", "slaney", 2.0, 3333),
    (16000, 400, 400, 160, 80, 0.0, None, None, "htk", 2.0, 999, 40),
]

# (sample_rate, n_mfcc, n_mels, n_fft, hop, log_mels, length)
MFCC_CASES = [
    (16000, 40, 128, 400, 200, False, 16000 + 1),
    (16000, 13, 40, 512, 160, True, 12345),
    (22050, 20, 64, 1024, 256, False, 22050 * 2 - 3),
]

# (n_mels, length, padding, pad_or_trim, silent)
WHISPER_CASES = [
    (80, 16000 * 3 + 77, 0, False, False),
    (128, 12345, 0, False, False),
    (80, 8001, 480000, False, False),
    (80, 16000 * 7 + 5, 0, True, False),
    (128, 16000 * 31 + 9, 0, True, False),
    (80, 4000, 0, False, True),
    (80, 2001, 0, False, False),
]


def whisper_log_mel(audio, n_mels, padding):
    """openai-whisper's log_mel_spectrogram (whisper/audio.py)."""
    if padding > 0:
        audio = torch.nn.functional.pad(audio, (0, padding))
    window = torch.hann_window(400)
    stft = torch.stft(audio, 400, 160, window=window, return_complex=True)
    magnitudes = stft[..., :-1].abs() ** 2
    filters = torchaudio.functional.melscale_fbanks(201, 0.0, 8000.0, n_mels, 16000, norm="slaney", mel_scale="slaney").T
    mel_spec = filters @ magnitudes
    log_spec = torch.clamp(mel_spec, min=1e-10).log10()
    log_spec = torch.maximum(log_spec, log_spec.max() - 8.0)
    return (log_spec + 4.0) / 4.0


def pad_or_trim(audio, length=480000):
    """whisper.pad_or_trim"""
    if audio.shape[-1] > length:
        return audio[..., :length]
    return torch.nn.functional.pad(audio, (0, length - audio.shape[-1]))


with Oracle("audio.mel") as o:
    for i, (n_mels, length, padding, trim, silent) in enumerate(WHISPER_CASES):
        x = torch.zeros(length) if silent else torch.randn(length) * 0.2
        audio = pad_or_trim(x) if trim else x
        y = whisper_log_mel(audio, n_mels, padding)
        torch.set_default_dtype(torch.float64)  # the window and filterbank built in float64
        exact = whisper_log_mel(audio.double(), n_mels, padding)
        torch.set_default_dtype(torch.float32)
        o.save(f"whisper{i}", inputs={"x": x}, outputs=with_float32({"features": exact}, {"features": y}),
               metadata=dict(n_mels=n_mels, padding=padding, pad_or_trim=int(trim)))
    for i, (sr, n_fft, win, hop, n_mels, f_min, f_max, norm, scale, power, length, *pad) in enumerate(MEL_CASES):
        pad = pad[0] if pad else 0
        x = torch.randn(length) * 0.3

        def mel_spectrogram():
            return torchaudio.transforms.MelSpectrogram(
                sample_rate=sr, n_fft=n_fft, win_length=win, hop_length=hop, f_min=f_min, f_max=f_max,
                n_mels=n_mels, power=power, norm=norm, mel_scale=scale, pad=pad)

        mel = mel_spectrogram()
        spec = mel(x)
        torch.set_default_dtype(torch.float64)  # the filterbank and window built in float64
        exact = mel_spectrogram()(x.double())
        torch.set_default_dtype(torch.float32)
        db = torchaudio.transforms.AmplitudeToDB("power" if power == 2.0 else "magnitude", top_db=80.0)(spec)
        meta = dict(sample_rate=sr, n_fft=n_fft, win_length=win, hop=hop, n_mels=n_mels, f_min=f_min,
                    f_max=0.0 if f_max is None else f_max, norm=str(norm), mel_scale=scale, power=power, pad=pad)
        o.save(f"mel{i}", inputs={"x": x},
               outputs={"fbanks": mel.mel_scale.fb, **with_float32({"mel": exact}, {"mel": spec}),
                        "log": torch.log(spec + 1e-6), "db": db},
               metadata=meta)
    for i, (sr, n_mfcc, n_mels, n_fft, hop, log_mels, length) in enumerate(MFCC_CASES):
        x = torch.randn(length) * 0.3
        mfcc = torchaudio.transforms.MFCC(sample_rate=sr, n_mfcc=n_mfcc, log_mels=log_mels,
                                          melkwargs=dict(n_fft=n_fft, hop_length=hop, n_mels=n_mels))
        meta = dict(sample_rate=sr, n_mfcc=n_mfcc, n_mels=n_mels, n_fft=n_fft, hop=hop, log_mels=int(log_mels))
        o.save(f"mfcc{i}", inputs={"x": x}, outputs={"mfcc": mfcc(x)}, metadata=meta)
