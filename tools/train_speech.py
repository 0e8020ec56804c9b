"""Trains the speech-to-text model of examples/transcribe and exports it for mmm.

Data: tools/speech.py — espeak-ng speaking digit strings and short commands with varied
voices, speeds, pitch and noise, 16 kHz. The test set uses voice variants and pitches never
seen in training.

Features: torchaudio MelSpectrogram(16 kHz, n_fft 400, hop 160, 80 mels, power 2), then
log(x + 1e-6), time-major: what mmm::LogMel computes.
Model (torch names are the state_dict mmm loads):
    norm     LayerNorm(80) per frame
    conv1    Conv1d(80, 192, 3, padding=1) + GELU
    conv2    Conv1d(192, 192, 3, stride=2, padding=1) + GELU    (50 frames a second)
    rnn      LSTM(192, 160, 2 layers, bidirectional, batch_first)
    out      Linear(320, 29): CTC over blank, space, apostrophe and a–z
Decoding: CTC greedy, or CTC prefix beam search.

Writes (default --out examples/transcribe): speech.safetensors (float32; metadata: alphabet,
feature settings, word error rates), inputs/ with a few held-out WAVs and inputs.tsv.
Run with Debian's python3:  /usr/bin/python3 tools/train_speech.py
"""
import argparse
import json
import multiprocessing
import os
import random
import sys
import time

import numpy as np
import torch
import torchaudio
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import speech  # noqa: E402
from mmm_oracle import save_safetensors  # noqa: E402

N_MELS, CONV, HIDDEN = 80, 192, 160
MEL = torchaudio.transforms.MelSpectrogram(sample_rate=speech.RATE, n_fft=400, hop_length=160, n_mels=N_MELS)
LOG_OFFSET = 1e-6


def features(samples):
    """[frames, 80] log-mel of 16 kHz samples."""
    return torch.log(MEL(torch.from_numpy(samples)) + LOG_OFFSET).T.contiguous()


class SpeechModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.norm = nn.LayerNorm(N_MELS)
        self.conv1 = nn.Conv1d(N_MELS, CONV, 3, padding=1)
        self.conv2 = nn.Conv1d(CONV, CONV, 3, stride=2, padding=1)
        self.rnn = nn.LSTM(CONV, HIDDEN, num_layers=2, bidirectional=True, batch_first=True)
        self.out = nn.Linear(2 * HIDDEN, len(speech.ALPHABET))

    @staticmethod
    def out_lengths(frames):
        return (frames - 1) // 2 + 1

    def forward(self, x, lengths):
        """x: N × T × 80 log-mels, lengths: frames per item. Returns N × T' × 29 logits, T' lengths."""
        x = self.norm(x).transpose(1, 2)
        x = nn.functional.gelu(self.conv1(x))
        x = nn.functional.gelu(self.conv2(x)).transpose(1, 2)
        out_len = self.out_lengths(lengths)
        packed = nn.utils.rnn.pack_padded_sequence(x, out_len, batch_first=True, enforce_sorted=False)
        y, _ = self.rnn(packed)
        y, _ = nn.utils.rnn.pad_packed_sequence(y, batch_first=True, total_length=x.shape[1])
        return self.out(y), out_len


def _make(args):
    seed, test = args
    rng = random.Random(seed)
    samples, text, voice = speech.utterance(rng, test)
    return features(samples).numpy(), text, voice, samples if test else None


def make_set(seed, n, test, workers):
    with multiprocessing.Pool(workers) as pool:
        return pool.map(_make, [(seed * 1000003 + i, test) for i in range(n)], chunksize=64)


def batch(items):
    lengths = torch.tensor([len(f) for f, *_ in items])
    x = torch.zeros(len(items), int(lengths.max()), N_MELS)
    for i, (f, *_) in enumerate(items):
        x[i, : len(f)] = torch.from_numpy(f)
    return x, lengths


def greedy(logits, length):
    ids, prev = [], 0
    for i in logits[:length].argmax(-1).tolist():
        if i != prev and i != 0:
            ids.append(i)
        prev = i
    return speech.decode(ids)


def wer(model, items, bs=64):
    model.eval()
    errors = words = 0
    with torch.no_grad():
        for i in range(0, len(items), bs):
            chunk = items[i:i + bs]
            x, lengths = batch(chunk)
            logits, out_len = model(x, lengths)
            for (_, text, *_), lg, n in zip(chunk, logits, out_len):
                errors += speech.word_errors(text, greedy(lg, int(n)))
                words += len(text.split())
    return errors / words


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=os.path.join(here, "..", "examples", "transcribe"))
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--train", type=int, default=12000)
    parser.add_argument("--test", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=14)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(1)  # data: one process per core
    t0 = time.time()
    train = make_set(args.seed, args.train, False, args.threads)
    test = make_set(args.seed + 1, args.test, True, args.threads)
    torch.set_num_threads(args.threads)
    print(f"data: {len(train)} training, {len(test)} test utterances in {time.time() - t0:.0f} s", flush=True)

    model = SpeechModel()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
    bs = 32
    steps = args.epochs * ((len(train) + bs - 1) // bs)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=steps, pct_start=0.15)
    ctc = nn.CTCLoss(blank=0, zero_infinity=True)
    order = sorted(range(len(train)), key=lambda i: len(train[i][0]))  # similar lengths per batch
    batches = [order[i:i + bs] for i in range(0, len(order), bs)]
    for epoch in range(args.epochs):
        model.train()
        random.Random(epoch).shuffle(batches)
        total = 0.0
        for idx in batches:
            items = [train[i] for i in idx]
            x, lengths = batch(items)
            targets = [torch.tensor(speech.encode(t)) for _, t, *_ in items]
            logits, out_len = model(x, lengths)
            loss = ctc(logits.log_softmax(-1).transpose(0, 1), torch.cat(targets), out_len,
                       torch.tensor([len(t) for t in targets]))
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
        print(f"epoch {epoch + 1}: loss {total / len(train):.4f}, test WER {wer(model, test[:300]):.4f} "
              f"({time.time() - t0:.0f} s)", flush=True)

    test_wer, train_wer = wer(model, test), wer(model, train[:1000])
    print(f"word error rate: test (unseen voices) {test_wer:.4f}, train {train_wer:.4f}")
    os.makedirs(os.path.join(args.out, "inputs"), exist_ok=True)
    meta = {"alphabet": json.dumps(speech.ALPHABET), "sample_rate": speech.RATE, "n_fft": 400, "hop_length": 160,
            "n_mels": N_MELS, "log_offset": LOG_OFFSET, "seed": args.seed, "test_utterances": len(test),
            "test_wer": f"{test_wer:.4f}", "trained_by": "tools/train_speech.py", "torch": torch.__version__}
    save_safetensors(os.path.join(args.out, "speech.safetensors"),
                     {k: v.float() for k, v in model.state_dict().items()}, meta)
    rows = []
    for n, (_, text, voice, samples) in enumerate(test[:4]):
        name = f"utterance{n + 1}.wav"
        speech.write_wav(os.path.join(args.out, "inputs", name), samples)
        rows.append(f"inputs/{name}\t{text}\t{voice}")
    with open(os.path.join(args.out, "inputs.tsv"), "w") as f:
        f.write("# wav\ttranscript\tvoice (held out; written by tools/train_speech.py)\n" + "\n".join(rows) + "\n")
    print(f"wrote {args.out} ({time.time() - t0:.0f} s total)")


if __name__ == "__main__":
    main()
