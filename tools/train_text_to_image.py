"""Trains the text-to-image model of examples/draw and exports it for mmm.

Data: tools/scenes.py — a caption ("a small red circle above a large blue square") and its
canonical rendering: the objects it names at fixed places for its layout (one centred; two
side by side or one above the other; three in a row), exact colours, a black background.

Model (torch names are the state_dict mmm loads):
    text      Embedding(V, 64), LSTM(64, 256) over the caption, its last valid step
    seed      Linear(256, 128·4·4) + ReLU, unflattened to a 128×4×4 map
    up1       Upsample(×2, nearest) + Conv2d(128, 96, 3, padding=1) + ReLU         8×8
    up2..up4  ConvTranspose2d(96→64→32→16, 4, stride=2, padding=1) + ReLU      16, 32, 64
    to_rgb    Conv2d(16, 3, 3, padding=1) + Tanh: pixels in [-1, 1]
Loss: L1 against the canonical rendering. Check: the captioner (examples/caption, trained
by tools/train_captioner.py) reads the drawn images of held-out prompts back.

Writes (default --out examples/draw): draw.safetensors (float32; metadata: vocabulary,
read-back accuracy), prompts.txt (held-out prompts for the demo).
Run with Debian's python3 after train_captioner.py:  /usr/bin/python3 tools/train_text_to_image.py
"""
import argparse
import json
import os
import random
import sys
import time

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import scenes  # noqa: E402
import train_captioner  # noqa: E402
from mmm_oracle import load_weights, save_safetensors  # noqa: E402

VOCAB = scenes.vocabulary()
EMBED, TEXT = 64, 256


class TextEncoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(len(VOCAB), EMBED)
        self.lstm = nn.LSTM(EMBED, TEXT, batch_first=True)

    def forward(self, tokens, lengths):
        y, _ = self.lstm(self.embed(tokens))
        return y[torch.arange(len(lengths)), lengths - 1]


class Drawer(nn.Module):
    def __init__(self):
        super().__init__()
        self.text = TextEncoder()
        self.seed = nn.Linear(TEXT, 128 * 4 * 4)
        self.up1 = nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(128, 96, 3, padding=1), nn.ReLU())
        self.up2 = nn.Sequential(nn.ConvTranspose2d(96, 64, 4, stride=2, padding=1), nn.ReLU())
        self.up3 = nn.Sequential(nn.ConvTranspose2d(64, 32, 4, stride=2, padding=1), nn.ReLU())
        self.up4 = nn.Sequential(nn.ConvTranspose2d(32, 16, 4, stride=2, padding=1), nn.ReLU())
        self.to_rgb = nn.Sequential(nn.Conv2d(16, 3, 3, padding=1), nn.Tanh())

    def forward(self, tokens, lengths):
        x = torch.relu(self.seed(self.text(tokens, lengths))).view(-1, 128, 4, 4)
        return self.to_rgb(self.up4(self.up3(self.up2(self.up1(x)))))


def random_prompt(rng):
    objects, relation = scenes.random_objects(rng)
    return scenes.caption(objects, relation)


def target(prompt):
    described, relation = scenes.parse_caption(prompt)
    return scenes.image_array(scenes.render(scenes.layout(described, relation), clean=True))


def encode(prompts):
    ids = {w: i for i, w in enumerate(VOCAB)}
    seqs = [[ids[w] for w in p.split()] for p in prompts]
    t = max(len(s) for s in seqs)
    out = torch.zeros(len(seqs), t, dtype=torch.long)
    for i, s in enumerate(seqs):
        out[i, : len(s)] = torch.tensor(s)
    return out, torch.tensor([len(s) for s in seqs])


def to_image(x):
    """[3, H, W] in [-1, 1] → PIL image, rounding as the C++ side writes its PNG."""
    from PIL import Image
    a = np.clip(np.rint((x.detach().numpy().transpose(1, 2, 0) * 0.5 + 0.5) * 255), 0, 255).astype(np.uint8)
    return Image.fromarray(a)


def read_back(captioner, drawer, prompts):
    with torch.no_grad():
        tokens, lengths = encode(prompts)
        images = drawer(tokens, lengths)
        # Through 8-bit pixels, as a PNG written by the demo would be read.
        images = torch.stack([torch.from_numpy(scenes.image_array(to_image(im))) for im in images])
        got = train_captioner.greedy(captioner, captioner.memory(images))
    return sum(g == p for g, p in zip(got, prompts)) / len(prompts)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=os.path.join(here, "..", "examples", "draw"))
    parser.add_argument("--captioner", default=os.path.join(here, "..", "examples", "caption", "caption.safetensors"))
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--train", type=int, default=20000)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    t0 = time.time()
    rng = random.Random(args.seed)
    prompts = [random_prompt(rng) for _ in range(args.train)]
    images = torch.from_numpy(np.stack([target(p) for p in prompts]))
    tokens, lengths = encode(prompts)
    test_rng = random.Random(args.seed + 1)
    seen = set(prompts)
    held_out = []
    while len(held_out) < 500:
        p = random_prompt(test_rng)
        if p not in seen:
            held_out.append(p)
    print(f"data: {args.train} prompts, {len(held_out)} held-out prompts in {time.time() - t0:.0f} s", flush=True)

    captioner = train_captioner.Captioner()
    load_weights(captioner, args.captioner)
    captioner.eval()

    model = Drawer()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.0)
    bs = 64
    steps = args.epochs * ((args.train + bs - 1) // bs)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=steps, pct_start=0.15)
    for epoch in range(args.epochs):
        model.train()
        perm = torch.randperm(args.train)
        total = 0.0
        for i in range(0, args.train, bs):
            idx = perm[i:i + bs]
            t = tokens[idx][:, : int(lengths[idx].max())]
            loss = (model(t, lengths[idx]) - images[idx]).abs().mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
        model.eval()
        acc = read_back(captioner, model, held_out[:200])
        print(f"epoch {epoch + 1}: L1 {total / args.train:.4f}, captioner reads back {acc:.3f} of 200 held-out prompts "
              f"({time.time() - t0:.0f} s)", flush=True)

    model.eval()
    acc = read_back(captioner, model, held_out)
    print(f"the captioner reads back {acc:.4f} of {len(held_out)} held-out prompts' drawings")
    os.makedirs(args.out, exist_ok=True)
    meta = {"vocabulary": json.dumps(VOCAB), "image_size": scenes.SIZE, "mean": 0.5, "std": 0.5, "seed": args.seed,
            "held_out_prompts": len(held_out), "read_back_accuracy": f"{acc:.4f}",
            "trained_by": "tools/train_text_to_image.py", "torch": torch.__version__}
    save_safetensors(os.path.join(args.out, "draw.safetensors"), {k: v.float() for k, v in model.state_dict().items()},
                     meta)
    with open(os.path.join(args.out, "prompts.txt"), "w") as f:
        f.write("".join(p + "\n" for p in held_out[:6]))
    print(f"wrote {args.out} ({time.time() - t0:.0f} s total)")


if __name__ == "__main__":
    main()
