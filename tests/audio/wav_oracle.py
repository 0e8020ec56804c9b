"""WAV files written by Python (the `wave` module for plain PCM, struct for IEEE float,
WAVE_FORMAT_EXTENSIBLE and extra chunks) in every encoding mmm reads, 1-3 channels, odd
rates and lengths; the expected samples are what torchaudio.load (sox) decodes. Also the
layouts streaming tools write: sizes of 0xFFFFFFFF (ffmpeg to a pipe: RIFF and data size
unknown, a LIST chunk first), a data size larger than the file (cut short, a partial last
frame), and RF64 with its ds64 chunk (exact, and streamed)."""
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


def write_manual(path, data, rate, channels, bits, code, extensible, extra_chunk, layout="plain"):
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
    if layout == "plain":
        chunks += b"data" + struct.pack("<I", len(data)) + data + (b"\0" if len(data) % 2 else b"")
        head = b"RIFF" + struct.pack("<I", 4 + len(chunks))
    elif layout == "streamed":  # sizes unknown; a partial frame at the end (the pipe was cut)
        chunks += b"data" + struct.pack("<I", 0xFFFFFFFF) + data + data[: block - 1]
        head = b"RIFF" + struct.pack("<I", 0xFFFFFFFF)
    elif layout == "short":  # the data size promises more than the file holds
        chunks += b"data" + struct.pack("<I", len(data) + 10 * block) + data[:-1]
        head = b"RIFF" + struct.pack("<I", 4 + len(chunks) + 10 * block)
    else:  # rf64 / rf64_streamed: 64-bit sizes in ds64, the 32-bit fields all ones
        size = len(data) if layout == "rf64" else len(data) + 1000 * block
        ds64 = struct.pack("<QQQI", 4 + len(chunks) + 8 + size + 36, size, size // block, 0)
        chunks = b"ds64" + struct.pack("<I", len(ds64)) + ds64 + chunks
        chunks += b"data" + struct.pack("<I", 0xFFFFFFFF) + data
        head = b"RF64" + struct.pack("<I", 0xFFFFFFFF)
    with open(path, "wb") as f:
        f.write(head + b"WAVE" + chunks)


# (encoding, channels, rate, frames, extensible, extra_chunk[, layout])
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
    ("pcm16", 2, 16000, 777, False, True, "streamed"),
    ("float32", 1, 48000, 321, False, False, "streamed"),
    ("pcm24", 3, 22050, 99, True, False, "streamed"),
    ("pcm16", 2, 8000, 500, False, False, "short"),
    ("pcm32", 1, 44100, 257, False, True, "short"),
    ("pcm16", 2, 16000, 1000, False, False, "rf64"),
    ("float64", 2, 32000, 123, True, True, "rf64"),
    ("pcm24", 1, 16000, 200, False, False, "rf64_streamed"),
]

with Oracle("audio.wav_python") as o:
    for i, (enc, channels, rate, frames, extensible, extra, *layout) in enumerate(CASES):
        layout = layout[0] if layout else "plain"
        x = (torch.rand(frames, channels, dtype=torch.float64) * 2 - 1).numpy() * 0.99
        path = os.path.join(o.args.out, f"case{i}.wav")
        if enc.startswith("pcm"):
            bits = int(enc[3:])
            data = pcm_bytes(x, bits)
            if not extensible and not extra and layout == "plain":
                with wave.open(path, "wb") as w:
                    w.setnchannels(channels)
                    w.setsampwidth(bits // 8)
                    w.setframerate(rate)
                    w.writeframes(data)
            else:
                write_manual(path, data, rate, channels, bits, 1, extensible, extra, layout)
        else:
            bits = 32 if enc == "float32" else 64
            data = x.astype("<f4" if bits == 32 else "<f8").tobytes()
            write_manual(path, data, rate, channels, bits, 3, extensible, extra, layout)
        samples, sr = torchaudio.load(path)
        assert sr == rate, (path, sr, rate)
        o.save(f"case{i}", outputs={"samples": samples.to(torch.float32)},
               metadata=dict(file=f"case{i}.wav", rate=rate, encoding=enc, extensible=int(extensible), layout=layout))
