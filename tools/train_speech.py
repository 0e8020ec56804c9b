"""Trains the speech-to-text model of examples/transcribe and exports it for mmm.

Data: tools/speech.py — espeak-ng speaking digit strings and short commands with varied
voices, speeds, pitch and noise, 16 kHz. The test set uses voice variants and pitches never
seen in training.

Features: torchaudio MelSpectrogram(16 kHz, n_fft 400, hop 160, 80 mels, power 2), then
log(x + 1e-6), time-major: what mmm::LogMel computes.
Model (torch names are the state_dict mmm loads):
    norm     LayerNorm(80) per frame
    conv1    Conv1d(80, 128, 3, stride=2, padding=1) + GELU     (50 frames a second)
    conv2    Conv1d(128, 128, 3, stride=2, padding=1) + GELU    (25 frames a second)
    rnn      LSTM(128, 128, 2 layers, bidirectional, batch_first)
    out      Linear(256, 37): CTC over blank and the 36 words of tools/speech.py
Decoding: CTC greedy, or CTC prefix beam search (tools/mmm_generate.py, as generate/ctc.hpp).

Writes (default --out examples/transcribe): speech.safetensors (float32; metadata: alphabet,
feature settings, word error rates), inputs/ with a few held-out WAVs and inputs.tsv.
Run with Debian's python3:  /usr/bin/python3 tools/train_speech.py
"""
import argparse
import json
import math
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
from mmm_oracle import load_weights, save_safetensors  # noqa: E402

N_MELS, CONV, HIDDEN = 80, 128, 128
# torch's default. A near-silent frame's log-mels are all about log(1e-6) and differ by ~1e-6,
# and normalizing that spread to unit variance makes the logits of some recordings sensitive to
# float32 rounding (1e-3 between float32 and float64 evaluations of the same weights). eps 1
# would cure that; a run with it (and --augment) did not converge within the time there was.
NORM_EPS = 1e-5
MEL = torchaudio.transforms.MelSpectrogram(sample_rate=speech.RATE, n_fft=400, hop_length=160, n_mels=N_MELS)
LOG_OFFSET = 1e-6


def features(samples):
    """[frames, 80] log-mel of 16 kHz samples."""
    return torch.log(MEL(torch.from_numpy(samples)) + LOG_OFFSET).T.contiguous()


class _Transpose12(torch.autograd.Function):
    """x.transpose(1, 2) whose gradient is contiguous. Debian's torch 1.13 computes GELU's
    backward wrongly for a non-contiguous incoming gradient (zeros, or garbage of 1e34 that
    clipping then turns into no update at all), which a plain transpose after GELU hands it."""

    @staticmethod
    def forward(ctx, x):
        return x.transpose(1, 2).contiguous()

    @staticmethod
    def backward(ctx, grad):
        return grad.transpose(1, 2).contiguous()


def transpose12(x):
    return _Transpose12.apply(x)


class SpeechModel(nn.Module):
    def __init__(self, dropout=0.0):
        super().__init__()
        self.norm = nn.LayerNorm(N_MELS, eps=NORM_EPS)
        self.conv1 = nn.Conv1d(N_MELS, CONV, 3, stride=2, padding=1)
        self.conv2 = nn.Conv1d(CONV, CONV, 3, stride=2, padding=1)
        self.rnn = nn.LSTM(CONV, HIDDEN, num_layers=2, bidirectional=True, batch_first=True, dropout=dropout)
        self.out = nn.Linear(2 * HIDDEN, len(speech.LABELS))

    @staticmethod
    def out_lengths(frames):
        """Frames after the two stride-2 convolutions (kernel 3, padding 1)."""
        return ((frames - 1) // 2) // 2 + 1

    def forward(self, x, lengths):
        """x: N × T × 80 log-mels, lengths: frames per item. Returns N × T' × 37 logits, T' lengths."""
        x = transpose12(self.norm(x))
        x = nn.functional.gelu(self.conv1(x))
        x = transpose12(nn.functional.gelu(self.conv2(x)))
        out_len = self.out_lengths(lengths)
        packed = nn.utils.rnn.pack_padded_sequence(x, out_len, batch_first=True, enforce_sorted=False)
        y, _ = self.rnn(packed)
        y, _ = nn.utils.rnn.pad_packed_sequence(y, batch_first=True, total_length=x.shape[1])
        return self.out(y), out_len


# Long recordings are heard in windows (examples/transcribe/transcribe.hpp, the same numbers):
# CHUNK_FRAMES feature frames (6 s) overlapping by 2·CHUNK_MARGIN (2 s); each keeps the output
# frames of its middle, the first also its start, the last its end.
CHUNK_FRAMES, CHUNK_MARGIN, FRAME_STRIDE = 600, 100, 4


def chunked_logits(model, feats):
    """[T, 80] log-mels of one recording → its [T', 37] logits, window by window."""
    frames = feats.shape[0]
    out = torch.empty(int(SpeechModel.out_lengths(torch.tensor(frames))), len(speech.LABELS), dtype=feats.dtype)
    start = 0
    while True:
        first, last = start == 0, start + CHUNK_FRAMES >= frames
        count = frames - start if last else CHUNK_FRAMES
        y = model(feats[start:start + count][None], torch.tensor([count]))[0][0]
        keep_from = 0 if first else CHUNK_MARGIN // FRAME_STRIDE
        keep_to = y.shape[0] if last else (CHUNK_FRAMES - CHUNK_MARGIN) // FRAME_STRIDE
        out[start // FRAME_STRIDE + keep_from:start // FRAME_STRIDE + keep_to] = y[keep_from:keep_to]
        if last:
            return out
        start += CHUNK_FRAMES - 2 * CHUNK_MARGIN


def _make(args):
    seed, test = args
    rng = random.Random(seed)
    samples, text, voice = speech.utterance(rng, test)
    return features(samples).numpy(), text, voice, samples if test else None


def make_set(seed, n, test, workers, cache=None):
    """n utterances of the training or the test voices; kept in `cache` (a file) when given,
    so that another training run with the same settings skips espeak-ng."""
    if cache and os.path.exists(cache):
        return torch.load(cache)
    with multiprocessing.Pool(workers) as pool:
        items = pool.map(_make, [(seed * 1000003 + i, test) for i in range(n)], chunksize=64)
    if cache:
        torch.save(items, cache)
    return items


def batch(items):
    lengths = torch.tensor([len(f) for f, *_ in items])
    x = torch.zeros(len(items), int(lengths.max()), N_MELS)
    for i, (f, *_) in enumerate(items):
        x[i, : len(f)] = torch.from_numpy(f)
    return x, lengths


def joined(items):
    """Recordings one after another (their log-mels: the frames are local), words joined."""
    return (np.concatenate([f for f, *_ in items]), " ".join(t for _, t, *_ in items))


def spec_augment(x, lengths, rng):
    """SpecAugment (Park et al. 2019) for voices never heard: in each item two bands of up to
    10 mel bins and two stretches of up to 20 frames take the item's mean log-mel."""
    x = x.clone()
    for i, n in enumerate(lengths.tolist()):
        fill = float(x[i, :n].mean())
        for _ in range(2):
            w = rng.randint(0, 10)
            f = rng.randint(0, N_MELS - w)
            x[i, :n, f:f + w] = fill
            w = rng.randint(0, min(20, n // 5))
            t = rng.randint(0, n - w)
            x[i, t:t + w] = fill
    return x


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
    parser.add_argument("--train", type=int, default=8000)
    parser.add_argument("--test", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--augment", action="store_true",
                        help="SpecAugment, LSTM dropout 0.25 and 30%% of the batches as running speech (not the shipped run)")
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--minutes", type=float, default=0, help="training time budget (0: none); the schedule ends then")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--cache", default=None, help="a directory keeping the generated data between runs")
    parser.add_argument("--init", default=None, help="start from these weights (a speech.safetensors) instead of random ones")
    parser.add_argument("--inputs-only", action="store_true", help="only write inputs/ and inputs.tsv")
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(1)  # data: one process per core
    t0 = time.time()
    cached = lambda kind, n: args.cache and os.path.join(args.cache, f"speech-{kind}-{args.seed}-{n}.pt")  # noqa: E731
    if args.cache:
        os.makedirs(args.cache, exist_ok=True)
    test = make_set(args.seed + 1, args.test, True, args.threads, cached("test", args.test))
    if args.inputs_only:  # with --init: the weights that choose them
        model = SpeechModel()
        load_weights(model, args.init)
        write_inputs(args.out, test, model)
        return
    train = make_set(args.seed, args.train, False, args.threads, cached("train", args.train))
    torch.set_num_threads(args.threads)
    print(f"data: {len(train)} training, {len(test)} test utterances in {time.time() - t0:.0f} s", flush=True)

    model = SpeechModel(dropout=0.25 if args.augment else 0.0)
    if args.init:
        load_weights(model, args.init)
    # CTC first learns to say nothing (all blank), and escapes that plateau sooner with short
    # utterances (one word: the alignment is trivial) and a high learning rate: the first
    # epoch goes shortest first (SortaGrad, Amodei et al. 2016), the rate warms up over 100
    # steps to --lr and then decays on a cosine.
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    bs = 16
    order = sorted(range(len(train)), key=lambda i: len(train[i][0]))  # similar lengths per batch
    batches = [order[i:i + bs] for i in range(0, len(order), bs)]
    steps = args.epochs * len(batches)
    warmup = 100
    start = time.time()

    def progress(s):  # of the schedule: by steps, or by the time budget when that runs out first
        by_time = (time.time() - start) / (60 * args.minutes) if args.minutes else 0.0
        return min(1.0, max(s / steps, by_time))

    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * progress(s))))
    ctc = nn.CTCLoss(blank=0, zero_infinity=True)
    augment = random.Random(args.seed)
    step = skipped = 0
    for epoch in range(args.epochs):
        model.train()
        if epoch > 0 or args.init:
            random.Random(epoch).shuffle(batches)
        total, counted = 0.0, 0
        for idx in batches:
            items = [train[i] for i in idx]
            if args.augment and augment.random() < 0.3:  # long recordings: 6 s windows of running speech
                items = [joined([item] + [train[augment.randrange(len(train))] for _ in range(augment.randint(1, 2))])
                         for item in items]
            x, lengths = batch(items)
            targets = [torch.tensor(speech.encode(t)) for _, t, *_ in items]
            logits, out_len = model(spec_augment(x, lengths, augment) if args.augment else x, lengths)
            loss = ctc(logits.log_softmax(-1).transpose(0, 1), torch.cat(targets), out_len,
                       torch.tensor([len(t) for t in targets]))
            opt.zero_grad()
            loss.backward()
            norm = nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            if torch.isfinite(loss) and torch.isfinite(norm):
                opt.step()
                total += loss.item() * len(idx)
                counted += len(idx)
            else:  # a rare non-finite gradient would poison every weight: that batch is skipped
                skipped += 1
            sched.step()
            step += 1
            if step % 100 == 0:
                print(f"  step {step}: loss {total / max(counted, 1):.4f}", flush=True)
            if progress(step) >= 1.0:
                break
        print(f"epoch {epoch + 1}: loss {total / max(counted, 1):.4f}, test WER {wer(model, test[:300]):.4f} "
              f"({time.time() - t0:.0f} s; {skipped} batches skipped)", flush=True)
        if progress(step) >= 1.0:
            print(f"time budget of {args.minutes} minutes spent after {step} steps", flush=True)
            break

    test_wer, train_wer = wer(model, test), wer(model, train[:1000])
    print(f"word error rate: test (unseen voices) {test_wer:.4f}, train {train_wer:.4f}")
    os.makedirs(os.path.join(args.out, "inputs"), exist_ok=True)
    meta = {"labels": json.dumps(speech.LABELS), "sample_rate": str(speech.RATE), "n_fft": "400", "hop_length": "160",
            "n_mels": str(N_MELS), "log_offset": repr(LOG_OFFSET), "norm_eps": repr(NORM_EPS), "seed": str(args.seed),
            "test_utterances": str(len(test)), "test_wer_greedy": f"{test_wer:.4f}", "beam_width": "8",
            "trained_by": "tools/train_speech.py", "torch": torch.__version__}
    save_safetensors(os.path.join(args.out, "speech.safetensors"),
                     {k: v.float() for k, v in model.state_dict().items()}, meta)
    write_inputs(args.out, test, model)
    print(f"wrote {args.out} ({time.time() - t0:.0f} s total)")


def write_inputs(out, test, model):
    """The shipped inputs: the first four held-out recordings (16-bit WAVs) that the model
    transcribes right (greedy), so that the demo shows what it does when it works; the word
    error rate on all of them is the metadata's and examples/transcribe/agreement.py's."""
    os.makedirs(os.path.join(out, "inputs"), exist_ok=True)
    rows = []
    model.eval()
    with torch.no_grad():
        for i, (feats, text, voice, samples) in enumerate(test):
            logits = chunked_logits(model, torch.from_numpy(feats))
            if greedy(logits, logits.shape[0]) != text:
                continue
            name = f"utterance{len(rows) + 1}.wav"
            speech.write_wav(os.path.join(out, "inputs", name), samples)
            rows.append(f"inputs/{name}\t{text}\theld-out recording {i + 1}: {voice}")
            if len(rows) == 4:
                break
    with open(os.path.join(out, "inputs.tsv"), "w") as f:
        f.write("# wav\ttranscript\tvoice (held out, the first four the model gets right; written by "
                "tools/train_speech.py)\n" + "\n".join(rows) + "\n")


if __name__ == "__main__":
    main()
