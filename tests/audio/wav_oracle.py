"""WAV files written by Python (the `wave` module for plain PCM, struct for IEEE float,
WAVE_FORMAT_EXTENSIBLE and extra chunks) in every encoding mmm reads, 1-3 channels, odd
rates and lengths; the expected samples are what torchaudio.load (sox) decodes."""
import os
import struct
import wave

import numpy as np
import torch
import torchaudio
from mmm_oracle import Oracle

KSDATA_TAIL = bytes([0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71])


def pcm_bytes(x, bits):
    """x: float [frames, channels] in [-1, 1) -> interleaved little-endian integer PCM."""
    scale = 2 ** (bits - 1)
    q = np.clip(np.round(x * scale), -scale, scale - 1).astype(np.int64)
    if bits == 8:
        return (q + 128).astype(np.uint8).tobytes()
    if bits == 24:
        u = (q & 0xFFFFFF).astype(np.uint32).reshape(-1)
        return np.stack([u & 0xFF, (u >> 8) & 0xFF, (u >> 16) & 0xFF], axis=1).astype(np.uint8).tobytes()
    return q.astype({16: "<i2", 32: "<i4"}[bits]).tobytes()


def write_manual(path, data, rate, channels, bits, code, extensible, extra_chunk):
    block = channels * bits // 8
    if extensible:
        fmt = struct.pack("<HHIIHHHHIH", 0xFFFE, channels, rate, rate * block, block, bits, 22, bits,
                          (1 << channels) - 1, code) + KSDATA_TAIL
    else:
        fmt = struct.pack("<HHIIHH", code, channels, rate, rate * block, block, bits)
    chunks = b"fmt " + struct.pack("<I", len(fmt)) + fmt
    if extra_chunk:  # an odd-sized chunk, padded to even, before the data
        body = b"mmm-test"[:7]
        chunks += b"LIST" + struct.pack("<I", len(body)) + body + b"\0"
    chunks += b"data" + struct.pack("<I", len(data)) + data + (b"\0" if len(data) % 2 else b"")
    with open(path, "wb") as f:
        f.write(b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WAVE" + chunks)


# (encoding, channels, rate, frames, extensible, extra_chunk)
CASES = [
    ("pcm8", 1, 8000, 1001, False, False),
    ("pcm16", 2, 16000, 1601, False, False),
    ("pcm24", 3, 44100, 999, False, False),
    ("pcm32", 1, 22050, 777, False, True),
    ("float32", 2, 48000, 1203, False, False),
    ("float64", 1, 11025, 501, False, True),
    ("pcm16", 1, 16000, 321, True, False),
    ("pcm24", 2, 96000, 432, True, True),
    ("float32", 3, 32000, 333, True, False),
    ("pcm8", 2, 12345, 3, False, True),
]

with Oracle("audio.wav_python") as o:
    for i, (enc, channels, rate, frames, extensible, extra) in enumerate(CASES):
        x = (torch.rand(frames, channels, dtype=torch.float64) * 2 - 1).numpy() * 0.99
        path = os.path.join(o.args.out, f"case{i}.wav")
        if enc.startswith("pcm"):
            bits = int(enc[3:])
            data = pcm_bytes(x, bits)
            if not extensible and not extra:
                with wave.open(path, "wb") as w:
                    w.setnchannels(channels)
                    w.setsampwidth(bits // 8)
                    w.setframerate(rate)
                    w.writeframes(data)
            else:
                write_manual(path, data, rate, channels, bits, 1, extensible, extra)
        else:
            bits = 32 if enc == "float32" else 64
            data = x.astype("<f4" if bits == 32 else "<f8").tobytes()
            write_manual(path, data, rate, channels, bits, 3, extensible, extra)
        samples, sr = torchaudio.load(path)
        assert sr == rate, (path, sr, rate)
        o.save(f"case{i}", outputs={"samples": samples.to(torch.float32)},
               metadata=dict(file=f"case{i}.wav", rate=rate, encoding=enc, extensible=int(extensible)))
