"""Full-set agreement of the assistant: the held-out questions of tools/train_assistant.py
(regenerated from the seed in the weights' metadata: its test scenes, 2 questions each),
answered by PyTorch (the training script's model, decoded by tools/mmm_generate.py's greedy
and beam search, the procedures of generate/) and by mmm (the `assistant` program, --list).
Prints the exact-answer accuracy of each, per question kind, how many answers agree, and the
largest relative difference of the answers' scores (sums of log-probabilities: a function of
every chosen token's logits).

    /usr/bin/python3 examples/assistant/agreement.py --binary build/examples/assistant/assistant [--scenes 1000] [--width 1]
"""
import argparse
import os
import random
import subprocess
import sys
import tempfile
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tools"))
import mmm_generate  # noqa: E402
import scenes  # noqa: E402
import train_assistant as A  # noqa: E402
from mmm_oracle import load_weights  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--binary", required=True, help="the assistant program (examples/assistant/main.cpp)")
    parser.add_argument("--model", default=os.path.join(HERE, "assistant.safetensors"))
    parser.add_argument("--scenes", type=int, default=None, help="held-out scenes (default: the metadata's, all)")
    parser.add_argument("--width", type=int, default=1, help="1: greedy (the model's default); more: beam search")
    parser.add_argument("--batch", type=int, default=100)
    args = parser.parse_args()
    torch.set_num_threads(1)
    model = A.Assistant()
    meta = load_weights(model, args.model)
    model.eval()
    seed = int(meta["seed"])
    count = args.scenes or int(meta["test_scenes"])
    decoder = A.PrefixDecoder(model)
    words = lambda tokens: " ".join(A.VOCAB[t] for t in tokens if t != A.EOS)  # noqa: E731

    rng = random.Random(seed + 1)
    questions, truths, images, owner = [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, "list.tsv"), "w") as f:
            for s in range(count):
                img, qa = A.scene_questions(rng, 2)
                img.save(os.path.join(tmp, f"{s}.png"))
                images.append(torch.from_numpy(scenes.image_array(img)))
                for q, a in qa:
                    f.write(f"{s}.png\t{q}\n")
                    questions.append(q)
                    truths.append(a)
                    owner.append(s)
        start = time.time()
        ours = subprocess.run([args.binary, "--model", args.model, "--width", str(args.width), "--list",
                               os.path.join(tmp, "list.tsv")], check=True, capture_output=True, text=True).stdout.splitlines()
        mmm_seconds = time.time() - start

    mmm_answers = [line.split("\t")[2] for line in ours]
    mmm_scores = [float(line.split("\t")[3]) for line in ours]
    torch_answers, torch_scores = [], []
    start = time.time()
    with torch.no_grad():
        for i in range(0, len(questions), args.batch):
            idx = list(range(i, min(i + args.batch, len(questions))))
            q, ql = A.encode_questions([questions[j] for j in idx])
            prefix, plen = model.prefix(model.features(torch.stack([images[owner[j]] for j in idx])), q, ql)
            prompts = [[A.BOS]] * len(idx)
            if args.width == 1:
                hyps = mmm_generate.greedy(decoder, decoder.make_state(prefix, plen, 1), prompts, A.MAX_ANSWER, eos=A.EOS)
            else:
                hyps = mmm_generate.beam_search(decoder, decoder.make_state(prefix, plen, args.width), prompts,
                                                A.MAX_ANSWER, eos=A.EOS, width=args.width)
            torch_answers += [words(h[0]["tokens"]) for h in hyps]
            torch_scores += [h[0]["score"] for h in hyps]
    torch_seconds = time.time() - start

    n = len(questions)
    same = sum(a == b for a, b in zip(mmm_answers, torch_answers))
    worst = max(abs(a - b) / max(1.0, abs(b)) for a, b in zip(mmm_scores, torch_scores))
    decoding = "greedy" if args.width == 1 else f"beam width {args.width}"
    print(f"{n} held-out questions about {count} held-out scenes (seed {seed + 1}), {decoding}")
    print(f"  exact answers, PyTorch: {sum(a == t for a, t in zip(torch_answers, truths)) / n:.2%}")
    print(f"  exact answers, mmm:     {sum(a == t for a, t in zip(mmm_answers, truths)) / n:.2%}")
    kinds = {}
    for a, t, q in zip(mmm_answers, truths, questions):
        kinds.setdefault(A.kind_of(q), []).append(a == t)
    print("  mmm per kind: " + ", ".join(f"{k} {sum(v) / len(v):.2%} of {len(v)}" for k, v in sorted(kinds.items())))
    print(f"  mmm answer == PyTorch answer: {same} of {n} ({same / n:.2%})")
    print(f"  answer scores: max relative difference {worst:.2e}")
    print(f"  (mmm {mmm_seconds:.1f} s for all of them in one process incl. PNG decoding; "
          f"PyTorch reference decoding {torch_seconds:.1f} s, batches of {args.batch})")
    for a, b, t, q in zip(mmm_answers, torch_answers, truths, questions):
        if a != b:
            print(f"  DIFFERENT: '{q}': mmm '{a}' / PyTorch '{b}' / true '{t}'")
    return 0 if same == n and worst <= 1e-4 else 1


if __name__ == "__main__":
    sys.exit(main())
