"""Full-set agreement of the drawer: the held-out prompts of tools/train_text_to_image.py
(regenerated from the seed and the training-set size in the weights' metadata), drawn by
PyTorch (the training script's model) and by mmm (the `draw` program, --list/--raw). Prints
the largest relative difference of the tanh outputs (before rounding to pixels), how many
8-bit pixel values differ, and how many drawings the captioner (examples/caption's model)
reads back exactly as their prompt: mmm's captioner on mmm's drawings (what the `draw`
program does), and PyTorch's captioner (beam search, tools/mmm_generate.py) on PyTorch's.

    /usr/bin/python3 examples/draw/agreement.py --binary build/examples/draw/draw
"""
import argparse
import copy
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tools"))
import mmm_generate  # noqa: E402
import scenes  # noqa: E402
import train_captioner as C  # noqa: E402
import train_text_to_image as T  # noqa: E402
from mmm_decoders import MemoryDecoder  # noqa: E402
from mmm_oracle import load_weights  # noqa: E402


def relative_error(ours, theirs, floor_fraction=1e-3):
    """oracle.hpp's measure: |a − e| / max(|e|, floor_fraction · max|e|), per image."""
    floor = floor_fraction * np.abs(theirs).max()
    return float((np.abs(ours - theirs) / np.maximum(np.abs(theirs), floor)).max())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--binary", required=True, help="the draw program (examples/draw/main.cpp)")
    parser.add_argument("--model", default=os.path.join(HERE, "draw.safetensors"))
    parser.add_argument("--captioner", default=os.path.join(HERE, "..", "caption", "caption.safetensors"))
    parser.add_argument("--batch", type=int, default=50)
    args = parser.parse_args()
    torch.set_num_threads(1)
    drawer = T.Drawer()
    meta = load_weights(drawer, args.model)
    drawer.eval()
    exact = copy.deepcopy(drawer).double()
    captioner = C.Captioner()
    cmeta = load_weights(captioner, args.captioner)
    captioner.eval()
    decoder = MemoryDecoder(captioner, len(C.VOCAB))
    width = int(cmeta["beam_width"])
    seed, train = int(meta["seed"]), int(meta["train_prompts"])
    prompts = T.held_out_prompts(seed, T.training_prompts(seed, train), int(meta["held_out_prompts"]))
    n, size = len(prompts), scenes.SIZE

    with tempfile.TemporaryDirectory() as tmp:
        listing, raw = os.path.join(tmp, "prompts.txt"), os.path.join(tmp, "images.f32")
        with open(listing, "w") as f:
            f.write("".join(p + "\n" for p in prompts))
        start = time.time()
        lines = subprocess.run([args.binary, "--model", args.model, "--captioner", args.captioner, "--list", listing,
                                "--raw", raw], check=True, capture_output=True, text=True).stdout.splitlines()
        mmm_seconds = time.time() - start
        ours = np.fromfile(raw, dtype="<f4").reshape(n, 3, size, size)
    mmm_read = [line.split("\t")[1] for line in lines]

    start = time.time()
    theirs, exacts, torch_read = [], [], []
    with torch.no_grad():
        for i in range(0, n, args.batch):
            tokens, lengths = T.encode(prompts[i:i + args.batch])
            images = drawer(tokens, lengths)
            theirs.append(images.numpy())
            exacts.append(exact(tokens, lengths).numpy())
            pixels = torch.stack([torch.from_numpy(scenes.image_array(T.to_image(im))) for im in images])
            beams = mmm_generate.beam_search(decoder, decoder.make_state(captioner.memory(pixels), width),
                                             [[C.BOS]] * len(images), C.MAX_LEN, eos=C.EOS, width=width)
            torch_read += [" ".join(C.VOCAB[t] for t in b[0]["tokens"] if t != C.EOS) for b in beams]
    torch_seconds = time.time() - start
    theirs, exacts = np.concatenate(theirs), np.concatenate(exacts)

    worst = {f: max(relative_error(a, b, f) for a, b in zip(ours, theirs)) for f in (1e-3, 5e-2)}
    vs_exact = {f: max(relative_error(a, b, f) for a, b in zip(ours, exacts)) for f in (1e-3, 5e-2)}
    torch_vs_exact = {f: max(relative_error(a, b, f) for a, b in zip(theirs, exacts)) for f in (1e-3, 5e-2)}
    absolute = float(np.abs(ours - theirs).max())
    to_pixels = lambda x: np.clip(np.rint((x * 0.5 + 0.5) * 255), 0, 255).astype(np.int16)  # noqa: E731
    pixel_diff = np.abs(to_pixels(ours) - to_pixels(theirs))
    mmm_right = sum(r == p for r, p in zip(mmm_read, prompts))
    torch_right = sum(r == p for r, p in zip(torch_read, prompts))
    objects = [p.split().count("a") for p in prompts]
    print(f"{n} held-out prompts (seed {seed + 1}, none of the {train} trained on; "
          f"{objects.count(1)} of one object, {objects.count(2)} of two, {objects.count(3)} of three)")
    print("  tanh outputs (3x64x64 per prompt), max relative difference, floor 0.1% / 5% of the largest element:")
    print(f"    mmm against PyTorch float32:         {worst[1e-3]:.2e} / {worst[5e-2]:.2e} (absolute {absolute:.2e})")
    print(f"    mmm against float64:                 {vs_exact[1e-3]:.2e} / {vs_exact[5e-2]:.2e}")
    print(f"    PyTorch float32 against float64:     {torch_vs_exact[1e-3]:.2e} / {torch_vs_exact[5e-2]:.2e}")
    print(f"  8-bit pixels: {int((pixel_diff > 0).sum())} of {pixel_diff.size} values differ, "
          f"by at most {int(pixel_diff.max())}")
    print(f"  read back exactly, mmm captioner on mmm's drawings:         {mmm_right} of {n} ({mmm_right / n:.2%})")
    print(f"  read back exactly, PyTorch captioner on PyTorch's drawings: {torch_right} of {n} ({torch_right / n:.2%})")
    same = sum(a == b for a, b in zip(mmm_read, torch_read))
    print(f"  the two read-backs agree on {same} of {n}")
    print(f"  (mmm {mmm_seconds:.1f} s for all of them in one process, drawing and captioning; "
          f"PyTorch {torch_seconds:.1f} s, batches of {args.batch})")
    for p, r in zip(prompts, mmm_read):
        if r != p:
            print(f"  MISREAD: '{p}' read as '{r}'")
    return 0 if worst[5e-2] <= 1e-4 and vs_exact[5e-2] <= 1e-4 and same == n else 1


if __name__ == "__main__":
    sys.exit(main())
