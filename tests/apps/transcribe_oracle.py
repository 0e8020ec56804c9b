"""Oracle for tests/apps/transcribe.cpp: the shipped speech model (examples/transcribe/
speech.safetensors) run by PyTorch — the model class and the windowing of
tools/train_speech.py, decoded by tools/mmm_generate.py's CTC procedures that generate/ctc.hpp
implements — on a slice of its held-out recordings (the first --held-out of the test set the
training script measured on), on --fresh new ones of the unseen voices, on one long recording
made of --long-parts of them (heard in several windows), and on one held-out recording as a
22.05 kHz stereo file (downmixed and resampled first). Per recording: the samples, the
log-mel features, the logits and log-probabilities of every frame, the greedy and the beam
labellings with their scores — as PyTorch computes them in float32 and, for the features and
the log-probabilities, as the same transforms and weights give them in float64 (the exact
answer)."""
import copy
import json
import os
import random

import numpy as np
import torch
import torchaudio

import mmm_generate
import speech
import train_speech as T
from mmm_oracle import Oracle, load_weights

EXAMPLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples", "transcribe")


def as_wav(samples):
    """The samples as a 16-bit WAV gives them back (torchaudio.load: pcm / 32768)."""
    return (np.clip(samples, -1, 1) * 32767).round().astype(np.float32) / 32768


def words(labels):
    return speech.decode(labels)


def arg(extra, name, default):
    return int(extra[extra.index(name) + 1]) if name in extra else default


with Oracle("apps.transcribe") as o, torch.no_grad():
    for old in os.listdir(o.args.out):  # the test reads recording0, 1, … until one is missing
        if old.startswith("recording"):
            os.remove(os.path.join(o.args.out, old))
    held_out, fresh = arg(o.extra, "--held-out", 4), arg(o.extra, "--fresh", 2)
    long_parts = arg(o.extra, "--long-parts", 6)
    model = T.SpeechModel()
    meta = load_weights(model, os.path.join(EXAMPLE, "speech.safetensors"))
    model.eval()
    exact = copy.deepcopy(model).double()
    exact_mel = copy.deepcopy(T.MEL).double()
    width, seed = int(meta["beam_width"]), int(meta["seed"])

    def held(i):
        return speech.utterance(random.Random((seed + 1) * 1000003 + i), test=True)

    recordings = [("held-out", *held(i)[:2]) for i in range(held_out)]
    fresh_rng = random.Random(o.seed)
    drawn = 0
    while drawn < fresh:
        samples, text, _ = speech.utterance(fresh_rng, test=True)
        logp = torch.log_softmax(T.chunked_logits(model, T.features(as_wav(samples))), -1)
        margins = []
        mmm_generate.ctc_greedy(logp, logp.shape[0], margins=margins)
        mmm_generate.ctc_prefix_beam_search(logp, logp.shape[0], width=width, margins=margins)
        if min(margins) < 1e-3:  # a near-tie could rightly go either way in float32: draw again
            continue
        recordings.append(("fresh", samples, text))
        drawn += 1
    parts, truths = [], []
    for i in range(held_out, held_out + long_parts):
        samples, text, _ = held(i)
        parts += [samples, np.zeros(int(0.3 * speech.RATE), np.float32)]
        truths.append(text)
    recordings.append(("long", np.concatenate(parts), " ".join(truths)))

    right = 0
    for i, (kind, samples, truth) in enumerate(recordings):
        wave = torch.from_numpy(as_wav(samples))
        feats = T.features(wave.numpy())
        logits = T.chunked_logits(model, feats)
        logp = torch.log_softmax(logits, -1)
        exact_feats = torch.log(exact_mel(wave.double()) + T.LOG_OFFSET).T.contiguous()
        exact_logp = torch.log_softmax(T.chunked_logits(exact, exact_feats), -1)
        greedy = mmm_generate.ctc_greedy(logp, logp.shape[0])[0]
        beam = mmm_generate.ctc_prefix_beam_search(logp, logp.shape[0], width=width)[0]
        right += words(beam["tokens"]) == truth
        o.save(f"recording{i}",
               inputs={"samples": wave},
               outputs={"features": feats, "logits": logits, "log_probs": logp,
                        "exact_features": exact_feats.float(), "exact_log_probs": exact_logp.float(),
                        "greedy": torch.tensor(greedy["tokens"], dtype=torch.int32),
                        "beam": torch.tensor(beam["tokens"], dtype=torch.int32)},
               metadata={"kind": kind, "truth": truth, "transcript": words(beam["tokens"]),
                         "greedy_transcript": words(greedy["tokens"]), "beam_score": repr(beam["score"]),
                         "greedy_score": repr(greedy["score"]), "seconds": f"{len(samples) / speech.RATE:.2f}"})

    # A held-out recording as a 22.05 kHz stereo WAV (the right channel at half the level):
    # PyTorch hears the mean of the channels resampled to 16 kHz.
    samples, text, _ = held(0)
    left = torchaudio.functional.resample(torch.from_numpy(as_wav(samples)), speech.RATE, 22050)
    stereo = torch.stack([left, 0.5 * left])
    mono = torchaudio.functional.resample(stereo.mean(0), 22050, speech.RATE)
    logp = torch.log_softmax(T.chunked_logits(model, T.features(mono.numpy())), -1)
    beam = mmm_generate.ctc_prefix_beam_search(logp, logp.shape[0], width=width)[0]
    o.save("stereo", inputs={"samples": stereo}, outputs={"log_probs": logp},
           metadata={"truth": text, "transcript": words(beam["tokens"]), "rate": "22050"})
    print(f"{len(recordings)} recordings ({held_out} held-out, {fresh} fresh, 1 long of {long_parts}): "
          f"PyTorch's beam transcript right on {right}")
    print(json.dumps({"cases": len(recordings)}))
