"""Full-set agreement of the speech model: the held-out recordings of tools/train_speech.py
(regenerated from the seed in the weights' metadata: unseen voices), and --long recordings of
a minute or more made of them, transcribed by PyTorch (the training script's model and
windowing, decoded by tools/mmm_generate.py's CTC greedy and prefix beam search, the
procedures of generate/ctc.hpp) and by mmm (the `transcribe` program, --list). Both read the
same 16-bit WAV files. Prints the word error rate of each, how many transcripts agree, and the
largest relative difference of the per-frame log-probabilities and of the beam scores.

    /usr/bin/python3 examples/transcribe/agreement.py --binary build/examples/transcribe/transcribe [--count 1000]
"""
import multiprocessing
import os
import random
import sys
import tempfile
import time

import numpy as np
import torch
import torchaudio

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "support"))
import agreement  # noqa: E402  (puts tools/ on the path)
import mmm_generate  # noqa: E402
import speech  # noqa: E402
import train_speech as T  # noqa: E402
from mmm_oracle import load_safetensors  # noqa: E402


def held_out(args):
    seed, i = args
    samples, text, _ = speech.utterance(random.Random((seed + 1) * 1000003 + i), test=True)
    return samples, text


def max_relative(actual, expected, floor_fraction=1e-3):
    """tests/support/oracle.hpp's measure: |a − e| / max(|e|, floor_fraction · max|e|)."""
    floor = max(floor_fraction * float(expected.abs().max()), 1e-30)
    return float(((actual - expected).abs() / expected.abs().clamp(min=floor)).max())


def wer(pairs):
    errors = sum(speech.word_errors(truth, hyp) for truth, hyp in pairs)
    return errors / sum(len(truth.split()) for truth, _ in pairs)


def main():
    parser = agreement.parser(__doc__, "transcribe", os.path.join(HERE, "speech.safetensors"))
    parser.add_argument("--count", type=int, default=None, help="held-out recordings (default: all the training script used)")
    parser.add_argument("--long", type=int, default=5, help="recordings of a minute or more made of held-out ones")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    model = T.SpeechModel()
    meta = agreement.load_model(model, args.model)
    width, seed = int(meta["beam_width"]), int(meta["seed"])
    count = args.count or int(meta["test_utterances"])

    start = time.time()
    with multiprocessing.Pool(args.workers) as pool:
        recordings = pool.map(held_out, [(seed, i) for i in range(count)], chunksize=16)
    # Long ones: consecutive held-out recordings with 0.3 s pauses, until a minute is full.
    gap = np.zeros(int(0.3 * speech.RATE), np.float32)
    longs, k = [], 0
    for _ in range(args.long):
        parts, words = [], []
        while sum(len(p) for p in parts) < 60 * speech.RATE:
            samples, text = recordings[k % count]
            parts += [samples, gap]
            words.append(text)
            k += 1
        longs.append((np.concatenate(parts), " ".join(words)))
    everything = recordings + longs
    print(f"data: {count} held-out recordings (seed {seed + 1}) and {len(longs)} long ones in {time.time() - start:.0f} s",
          flush=True)

    with tempfile.TemporaryDirectory() as tmp:
        for i, (samples, _) in enumerate(everything):
            speech.write_wav(os.path.join(tmp, f"{i}.wav"), samples)
        fields, mmm_seconds = agreement.run_program(args.binary, args.model, tmp, [f"{i}.wav" for i in range(len(everything))],
                                                    "--log-probs", os.path.join(tmp, "log_probs.safetensors"))
        mmm_log_probs, _ = load_safetensors(os.path.join(tmp, "log_probs.safetensors"))

        torch_beam, torch_greedy, torch_scores, worst_lp = [], [], [], 0.0
        start = time.time()
        with torch.no_grad():
            for i in range(len(everything)):
                wave, rate = torchaudio.load(os.path.join(tmp, f"{i}.wav"))
                assert rate == speech.RATE and wave.shape[0] == 1
                logp = torch.log_softmax(T.chunked_logits(model, T.features(wave[0].numpy())), -1)
                beam = mmm_generate.ctc_prefix_beam_search(logp, logp.shape[0], width=width)[0]
                greedy = mmm_generate.ctc_greedy(logp, logp.shape[0])[0]
                torch_beam.append(speech.decode(beam["tokens"]))
                torch_greedy.append(speech.decode(greedy["tokens"]))
                torch_scores.append(beam["score"])
                worst_lp = max(worst_lp, max_relative(mmm_log_probs[str(i)].reshape(logp.shape), logp))
        torch_seconds = time.time() - start

    mmm_beam, mmm_scores, mmm_greedy = [f[1] for f in fields], [float(f[2]) for f in fields], [f[3] for f in fields]
    truths = [text for _, text in everything]
    n, short = len(everything), slice(0, count)
    same_beam = sum(a == b for a, b in zip(mmm_beam, torch_beam))
    same_greedy = sum(a == b for a, b in zip(mmm_greedy, torch_greedy))
    worst_score = max(abs(a - b) / max(1.0, abs(b)) for a, b in zip(mmm_scores, torch_scores))
    minutes = sum(len(s) for s, _ in longs) / speech.RATE / 60
    print(f"{count} held-out recordings of unseen voices, beam width {width}; "
          f"{len(longs)} long recordings ({minutes:.1f} minutes in all, windows of 6 s)")
    for who, beam, greedy in (("PyTorch", torch_beam, torch_greedy), ("mmm", mmm_beam, mmm_greedy)):
        print(f"  word error rate, {who:7} held-out: beam {wer(list(zip(truths[short], beam[short]))):.2%}, "
              f"greedy {wer(list(zip(truths[short], greedy[short]))):.2%}; long: beam "
              f"{wer(list(zip(truths[count:], beam[count:]))):.2%}, greedy {wer(list(zip(truths[count:], greedy[count:]))):.2%}")
    print(f"  exact transcripts, mmm beam held-out: {sum(a == b for a, b in zip(mmm_beam[short], truths[short])) / count:.2%}")
    print(f"  mmm transcript == PyTorch transcript: beam {same_beam} of {n} ({same_beam / n:.2%}), "
          f"greedy {same_greedy} of {n} ({same_greedy / n:.2%})")
    print(f"  log-probabilities: max relative difference {worst_lp:.2e} (floor 0.1% of the largest); "
          f"beam scores {worst_score:.2e}")
    print(f"  (mmm {mmm_seconds:.1f} s for all of them in one process incl. WAV reading; PyTorch model and reference "
          f"decoding {torch_seconds:.1f} s)")
    for a, b, truth in zip(mmm_beam, torch_beam, truths):
        if a != b:
            print(f"  DIFFERENT: mmm '{a}' / PyTorch '{b}' / true '{truth}'")
    return 0 if same_beam == n and same_greedy == n and worst_lp <= 1e-4 and worst_score <= 1e-4 else 1


if __name__ == "__main__":
    sys.exit(main())
