"""Full-set agreement of the captioner: the 2000 held-out scenes of tools/train_captioner.py
(regenerated from the seed in the weights' metadata), captioned by PyTorch (the training
script's model, decoded by tools/mmm_generate.py's beam search and greedy, the procedures of
generate/) and by mmm (the `caption` program, --list). Prints the exact-caption accuracy of
each, how many captions agree, and the largest relative difference of the beam scores.

    /usr/bin/python3 examples/caption/agreement.py --binary build/examples/caption/caption [--count 2000]
"""
import os
import random
import sys
import tempfile
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "support"))
import agreement  # noqa: E402  (puts tools/ on the path)
import mmm_generate  # noqa: E402
import scenes  # noqa: E402
import train_captioner as T  # noqa: E402
from mmm_decoders import MemoryDecoder  # noqa: E402


def main():
    parser = agreement.parser(__doc__, "caption", os.path.join(HERE, "caption.safetensors"))
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=50)
    args = parser.parse_args()
    model = T.Captioner()
    meta = agreement.load_model(model, args.model)
    width, seed = int(meta["beam_width"]), int(meta["seed"])
    decoder = MemoryDecoder(model, len(T.VOCAB))
    words = lambda tokens: " ".join(T.VOCAB[t] for t in tokens if t != T.EOS)  # noqa: E731

    rng = random.Random(seed + 1)
    with tempfile.TemporaryDirectory() as tmp:
        truths, images = [], []
        for i in range(args.count):
            img, _, _, truth = scenes.scene(rng)
            img.save(os.path.join(tmp, f"{i}.png"))
            truths.append(truth)
            images.append(torch.from_numpy(scenes.image_array(img)))
        ours, mmm_seconds = agreement.run_program(args.binary, args.model, tmp, [f"{i}.png" for i in range(args.count)])

    mmm_caps = [row[1] for row in ours]
    mmm_scores = [float(row[2]) for row in ours]
    torch_caps, torch_scores, greedy_caps = [], [], []
    start = time.time()
    with torch.no_grad():
        for i in range(0, args.count, args.batch):
            memory = model.memory(torch.stack(images[i:i + args.batch]))
            n = memory.shape[0]
            beams = mmm_generate.beam_search(decoder, decoder.make_state(memory, width), [[T.BOS]] * n, T.MAX_LEN,
                                             eos=T.EOS, width=width)
            greedy = mmm_generate.greedy(decoder, decoder.make_state(memory, 1), [[T.BOS]] * n, T.MAX_LEN, eos=T.EOS)
            torch_caps += [words(b[0]["tokens"]) for b in beams]
            torch_scores += [b[0]["score"] for b in beams]
            greedy_caps += [words(g[0]["tokens"]) for g in greedy]
    torch_seconds = time.time() - start

    n = args.count
    same = sum(a == b for a, b in zip(mmm_caps, torch_caps))
    worst = max(abs(a - b) / max(1.0, abs(b)) for a, b in zip(mmm_scores, torch_scores))
    print(f"{n} held-out scenes (seed {seed + 1}), beam width {width}")
    print(f"  exact captions, PyTorch beam:   {sum(c == t for c, t in zip(torch_caps, truths)) / n:.2%}")
    print(f"  exact captions, PyTorch greedy: {sum(c == t for c, t in zip(greedy_caps, truths)) / n:.2%}")
    print(f"  exact captions, mmm beam:       {sum(c == t for c, t in zip(mmm_caps, truths)) / n:.2%}")
    print(f"  mmm caption == PyTorch caption: {same} of {n} ({same / n:.2%})")
    print(f"  beam scores: max relative difference {worst:.2e}")
    print(f"  (mmm {mmm_seconds:.1f} s for all of them in one process incl. PNG decoding; "
          f"PyTorch reference decoding {torch_seconds:.1f} s, batches of {args.batch})")
    for c, t, truth in zip(mmm_caps, torch_caps, truths):
        if c != t:
            print(f"  DIFFERENT: mmm '{c}' / PyTorch '{t}' / true '{truth}'")
    return 0 if same == n and worst <= 1e-4 else 1


if __name__ == "__main__":
    sys.exit(main())
