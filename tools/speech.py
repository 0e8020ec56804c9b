"""Synthetic speech for mmm's speech-to-text application: Debian's espeak-ng speaking digit
strings and short commands with varied voices, speeds, pitch and added noise, as 16 kHz
mono float32 with transcripts.

Voices are an accent (espeak-ng language voice) plus a variant (+m3, +f2, …). The training
and test sets use disjoint variants and disjoint pitch values, so that the test set's voice
settings are never seen in training (the accent list is shared: there are few English ones).

Reproducible from a seed. Run with Debian's /usr/bin/python3 (numpy, torch, torchaudio).
"""
import os
import random
import subprocess
import tempfile

import numpy as np
import torch
import torchaudio

RATE = 16000
DIGITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
COMMANDS = ["turn", "on", "off", "the", "light", "music", "play", "stop", "pause", "next", "volume", "up",
            "down", "left", "right", "go", "back", "open", "close", "door", "window", "yes", "no", "call",
            "home", "start"]
WORDS = DIGITS + [w for w in COMMANDS if w not in DIGITS]
ACCENTS = ["en-us", "en-gb", "en-gb-x-rp", "en-gb-scotland", "en-029", "en-gb-x-gbclan"]
TRAIN_VARIANTS = ["m1", "m2", "m3", "m4", "m5", "f1", "f2", "f3", "klatt", "klatt2", "Alex", "Andy",
                  "Annie", "Denis", "Gene", "Jacky", "Lee", "Mario", "Michael", "Mike", "adam", "anika",
                  "aunty", "belinda", "boris", "caleb", "david", "ed", "edward"]
TEST_VARIANTS = ["m6", "m7", "f4", "f5", "klatt3", "Hugo", "Marco", "john", "linda", "max", "paul", "norbert"]
# The CTC labels: blank is 0, then the words (a closed vocabulary, so the model spells
# words, not letters: at 25 frames a second fast speech has too few frames for letters).
LABELS = ["<blank>"] + WORDS

_TEMPLATES = [
    ["turn", "on", "the", ("light", "music")], ["turn", "off", "the", ("light", "music")],
    [("play", "stop", "pause"), "the", "music"], ["volume", ("up", "down")], ["go", ("left", "right", "back", "home")],
    [("open", "close"), "the", ("door", "window")], [("yes", "no")], ["call", "home"], ["next"], ["start"],
]


def transcript(rng):
    """A digit string, a command, or a command followed by digits."""
    kind = rng.random()
    if kind < 0.4:
        return " ".join(rng.choice(DIGITS) for _ in range(rng.randint(1, 6)))
    words = [w if isinstance(w, str) else rng.choice(w) for w in rng.choice(_TEMPLATES)]
    if kind > 0.8:
        words += ["call"] + [rng.choice(DIGITS) for _ in range(rng.randint(1, 4))]
    return " ".join(words)


def voice(rng, test=False):
    """(espeak voice, words per minute, pitch) for the training or the test set."""
    variant = rng.choice(TEST_VARIANTS if test else TRAIN_VARIANTS)
    # Pitches: training even steps, test odd ones; speeds overlap (a speed is no voice).
    pitch = rng.randrange(21, 80, 10) if test else rng.randrange(16, 86, 10)
    return f"{rng.choice(ACCENTS)}+{variant}", rng.randint(120, 200), pitch


def speak(text, voice_name, speed, pitch, noise_db, rng):
    """16 kHz float32 samples of espeak-ng saying `text`, with white noise `noise_db` below
    the speech's RMS (None: none) and a random short silence before and after."""
    with tempfile.NamedTemporaryFile(suffix=".wav") as f:
        subprocess.run(["espeak-ng", "-v", voice_name, "-s", str(speed), "-p", str(pitch), "-w", f.name, text],
                       check=True, capture_output=True)
        wave, rate = torchaudio.load(f.name)
    wave = torchaudio.functional.resample(wave, rate, RATE)[0].numpy()
    pad = lambda: np.zeros(int(RATE * rng.uniform(0.05, 0.3)), np.float32)  # noqa: E731
    wave = np.concatenate([pad(), wave, pad()]).astype(np.float32)
    if noise_db is not None:
        rms = float(np.sqrt(np.mean(wave ** 2)) + 1e-9)
        nrng = np.random.default_rng(rng.randrange(1 << 32))
        wave = wave + nrng.normal(0, rms * 10 ** (-noise_db / 20), wave.shape).astype(np.float32)
    return np.clip(wave, -1, 1).astype(np.float32)


def utterance(rng, test=False):
    """(samples, transcript, voice description) for a fresh random utterance."""
    text = transcript(rng)
    v, speed, pitch = voice(rng, test)
    noise = None if rng.random() < 0.3 else rng.uniform(10, 30)
    return speak(text, v, speed, pitch, noise, rng), text, f"{v} speed {speed} pitch {pitch} noise " + (
        "none" if noise is None else f"{noise:.0f} dB")


def encode(text):
    return [LABELS.index(w) for w in text.split()]


def decode(ids):
    return " ".join(LABELS[i] for i in ids)


def word_errors(ref, hyp):
    """Levenshtein distance between the word sequences."""
    r, h = ref.split(), hyp.split()
    d = list(range(len(h) + 1))
    for i in range(1, len(r) + 1):
        prev, d[0] = d[0], i
        for j in range(1, len(h) + 1):
            cur = min(d[j] + 1, d[j - 1] + 1, prev + (r[i - 1] != h[j - 1]))
            prev, d[j] = d[j], cur
    return d[len(h)]


def write_wav(path, samples, bits=16):
    """16-bit (or 8-bit, unsigned) PCM mono WAV at RATE."""
    import wave
    if bits == 8:
        pcm = (np.clip(samples, -1, 1) * 127 + 128).round().astype(np.uint8)
    else:
        pcm = (np.clip(samples, -1, 1) * 32767).round().astype("<i2")
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(bits // 8)
        w.setframerate(RATE)
        w.writeframes(pcm.tobytes())


if __name__ == "__main__":
    rng = random.Random(0)
    out = tempfile.mkdtemp()
    for i in range(3):
        s, t, v = utterance(rng, test=i == 2)
        write_wav(os.path.join(out, f"u{i}.wav"), s)
        print(t, "|", v, "|", len(s) / RATE, "s")
