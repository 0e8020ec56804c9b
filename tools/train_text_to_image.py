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
Loss: L1 + squared error against the canonical rendering, the objects' pixels weighted 5×
(drawing_loss says why), plus a training-only probe that reads every object's attributes
from the text encoder's state (TextProbe says why); AdamW, one-cycle learning rate, 36 000
random prompts (training_prompts: mostly of three objects), one epoch of batch 32, one
thread. While training, the ConvTranspose2d layers are computed as
an equivalent 3×3 Conv2d and a pixel shuffle (conv_transpose_subpixel: torch 1.13's CPU
backward of conv_transpose2d is ~10× slower); evaluation and export use nn.ConvTranspose2d
itself, whose state_dict mmm loads.
Check: the captioner (examples/caption, trained by tools/train_captioner.py) reads back the
drawings of the 500 held-out prompts (the first drawn from seed + 1 that are none of the
training prompts), through 8-bit pixels; greedy decoding here, beam search in agreement.py.

Writes (default --out examples/draw): draw.safetensors (float32; metadata: vocabulary,
pixel settings, seed and sizes, read-back accuracy), prompts.txt (held-out prompts for the
demo: the first six whose drawings read back).
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
FOREGROUND_WEIGHT = 5.0


class TextEncoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(len(VOCAB), EMBED)
        self.lstm = nn.LSTM(EMBED, TEXT, batch_first=True)

    def forward(self, tokens, lengths):
        y, _ = self.lstm(self.embed(tokens))
        return y[torch.arange(len(lengths)), lengths - 1]


# (kernel-row offset in a 3×3 window, ConvTranspose2d kernel index) for each output phase of
# ConvTranspose2d(4, stride=2, padding=1): even rows take rows m−1 (k 3) and m (k 1), odd rows
# m (k 2) and m+1 (k 0).
_PHASES = (((0, 3), (1, 1)), ((1, 2), (2, 0)))


def conv_transpose_subpixel(m, x):
    """m(x) for m = ConvTranspose2d(k 4, stride 2, padding 1), computed as a 3×3 Conv2d to 4×
    the channels and a pixel shuffle: the same function of the same parameters, but torch
    1.13's CPU backward of conv_transpose2d takes ~10× as long as this (measured: 2.3 s
    against 0.3 s for 96→64 on 64×96×8×8), which would not fit the training budget."""
    w = m.weight                                    # cin × cout × 4 × 4
    cin, cout = w.shape[0], w.shape[1]
    sub = w.new_zeros(cout, 2, 2, cin, 3, 3)
    for a, rows in enumerate(_PHASES):
        for b, cols in enumerate(_PHASES):
            for r, k in rows:
                for s, l in cols:
                    sub[:, a, b, :, r, s] = w[:, :, k, l].t()
    y = nn.functional.conv2d(x, sub.reshape(cout * 4, cin, 3, 3), m.bias.repeat_interleave(4), padding=1)
    return nn.functional.pixel_shuffle(y, 2)


class Upsampler(nn.Module):
    """ConvTranspose2d(cin, cout, 4, stride=2, padding=1) + ReLU; the state_dict of
    nn.Sequential(ConvTranspose2d, ReLU) (names "0.weight", "0.bias")."""

    def __init__(self, cin, cout):
        super().__init__()
        self.add_module("0", nn.ConvTranspose2d(cin, cout, 4, stride=2, padding=1))

    def forward(self, x):
        m = getattr(self, "0")
        return torch.relu(conv_transpose_subpixel(m, x) if self.training else m(x))


class Drawer(nn.Module):
    def __init__(self):
        super().__init__()
        self.text = TextEncoder()
        self.seed = nn.Linear(TEXT, 128 * 4 * 4)
        self.up1 = nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(128, 96, 3, padding=1), nn.ReLU())
        self.up2 = Upsampler(96, 64)
        self.up3 = Upsampler(64, 32)
        self.up4 = Upsampler(32, 16)
        self.to_rgb = nn.Sequential(nn.Conv2d(16, 3, 3, padding=1), nn.Tanh())

    def forward(self, tokens, lengths):
        return self.generate(self.text(tokens, lengths))

    def generate(self, text):
        x = torch.relu(self.seed(text)).view(-1, 128, 4, 4)
        return self.to_rgb(self.up4(self.up3(self.up2(self.up1(x)))))


LAYOUTS = 4  # one object; two side by side; one above the other; three in a row
SLOT_CLASSES = (len(scenes.SIZES) + 1, len(scenes.COLORS) + 1, len(scenes.SHAPES) + 1)  # the last: no object


def attributes(prompts):
    """Per prompt: its layout and each of its 3 slots' size, colour and shape ids."""
    rows = []
    for p in prompts:
        objs, relation = scenes.parse_caption(p)
        row = [0 if len(objs) == 1 else 3 if len(objs) == 3 else 1 if relation == scenes.RELATIONS[0] else 2]
        for k in range(3):
            if k < len(objs):
                size, color, shape = objs[k]
                row += [list(scenes.SIZES).index(size), list(scenes.COLORS).index(color), scenes.SHAPES.index(shape)]
            else:
                row += [n - 1 for n in SLOT_CLASSES]
        rows.append(row)
    return torch.tensor(rows)


class TextProbe(nn.Module):
    """Training only, not exported: linear read-outs of the layout and of every slot's size,
    colour and shape from the text encoder's state. Their cross-entropy teaches the LSTM to
    keep all nine attributes of a three-object prompt directly, instead of through the
    generator's pixel loss alone (the run without it read back none of 100 held-out prompts
    after 500 steps)."""

    def __init__(self):
        super().__init__()
        self.sizes = [LAYOUTS] + list(SLOT_CLASSES) * 3
        self.heads = nn.Linear(TEXT, sum(self.sizes))

    def loss(self, text, targets):
        parts = self.heads(text).split(self.sizes, dim=1)
        return sum(nn.functional.cross_entropy(z, targets[:, i]) for i, z in enumerate(parts)) / len(parts)


def random_prompt(rng, count=None):
    objects, relation = scenes.random_objects(rng, count)
    return scenes.caption(objects, relation)


def training_prompts(seed, count):
    """Mostly three objects (5 in 8; scenes' own mix is 1 in 4): there are 40 one-object and
    3120 two-object prompts but 59 280 of three, and those are what the held-out set holds."""
    rng = random.Random(seed)
    return [random_prompt(rng, rng.choice((1, 2, 2, 3, 3, 3, 3, 3))) for _ in range(count)]


def held_out_prompts(seed, trained, count=500):
    """The first `count` prompts from seed + 1 that are none of the `trained` ones (in the
    order drawn, repeats kept): the held-out set every measurement of examples/draw uses."""
    rng, seen, out = random.Random(seed + 1), set(trained), []
    while len(out) < count:
        p = random_prompt(rng)
        if p not in seen:
            out.append(p)
    return out


def canonical(prompt):
    """The prompt's canonical rendering (PIL image): what the model learns to draw."""
    described, relation = scenes.parse_caption(prompt)
    return scenes.render(scenes.layout(described, relation), clean=True)


def target(prompt):
    return scenes.image_array(canonical(prompt))


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


def drawing_loss(drawn, goal, weight=FOREGROUND_WEIGHT):
    """L1 + squared error, pixels of the objects counting `weight` times the background's.
    Plain L1 (the conditional median) drew black: about 90% of a canonical rendering is
    background, and the first run (60 000 prompts, L1 alone) sat at an all-black picture
    with the tanh saturated, reading back 0 of 200 held-out prompts after an epoch."""
    foreground = (goal > -1.0 + 1e-3).any(1, keepdim=True).float()
    w = 1.0 + (weight - 1.0) * foreground
    d = drawn - goal
    return (w * (d.abs() + d * d)).mean()


def read_back(captioner, drawer, prompts, each=False):
    with torch.no_grad():
        tokens, lengths = encode(prompts)
        images = drawer(tokens, lengths)
        # Through 8-bit pixels, as a PNG written by the demo would be read.
        images = torch.stack([torch.from_numpy(scenes.image_array(to_image(im))) for im in images])
        got = []
        for i in range(0, len(prompts), 100):
            got += train_captioner.greedy(captioner, captioner.memory(images[i:i + 100]))
    right = [g == p for g, p in zip(got, prompts)]
    return right if each else sum(right) / len(prompts)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=os.path.join(here, "..", "examples", "draw"))
    parser.add_argument("--captioner", default=os.path.join(here, "..", "examples", "caption", "caption.safetensors"))
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--train", type=int, default=60000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--stop-after", type=int, default=1000,
                        help="steps to run of the one-cycle schedule planned for --epochs (0: all of them)")
    # One thread: on this shared 2-core machine torch's second OpenMP thread made a step 4×
    # slower (measured 1.84 s against 0.46 s at batch 64), not faster.
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    t0 = time.time()
    prompts = training_prompts(args.seed, args.train)
    # uint8 (the renderings are 8-bit): 60 000 float32 targets would take 3 GB.
    images = torch.from_numpy(np.stack([np.asarray(canonical(p)) for p in prompts]))
    tokens, lengths = encode(prompts)
    seen = set(prompts)
    held_out = held_out_prompts(args.seed, prompts)
    counts = [sum(p.split().count("a") == n for p in held_out) for n in (1, 2, 3)]
    print(f"data: {args.train} prompts ({len(seen)} different), {len(held_out)} held-out prompts none of them trained on "
          f"({counts[0]} of one object, {counts[1]} of two, {counts[2]} of three) in {time.time() - t0:.0f} s", flush=True)

    captioner = train_captioner.Captioner()
    load_weights(captioner, args.captioner)
    captioner.eval()

    model, probe = Drawer(), TextProbe()
    targets = attributes(prompts)
    opt = torch.optim.AdamW(list(model.parameters()) + list(probe.parameters()), lr=1e-3, weight_decay=0.0)
    bs = args.batch
    steps = args.epochs * ((args.train + bs - 1) // bs)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=steps, pct_start=0.15)
    step = 0
    for epoch in range(args.epochs):
        if args.stop_after and step >= args.stop_after:
            break
        model.train()
        perm = torch.randperm(args.train)
        total = 0.0
        for i in range(0, args.train, bs):
            idx = perm[i:i + bs]
            t = tokens[idx][:, : int(lengths[idx].max())]
            goal = images[idx].permute(0, 3, 1, 2).float() / 127.5 - 1.0
            text = model.text(t, lengths[idx])
            loss = drawing_loss(model.generate(text), goal) + probe.loss(text, targets[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
            step += 1
            if args.stop_after and step >= args.stop_after:
                print(f"  stopped after {step} of the schedule's {steps} steps", flush=True)
                break
            if (i // bs + 1) % 500 == 0:
                model.eval()
                acc = read_back(captioner, model, held_out[:100])
                model.train()
                print(f"  step {i // bs + 1}: loss {loss.item():.4f}, reads back {acc:.2f} of 100 held-out "
                      f"({time.time() - t0:.0f} s)", flush=True)
        model.eval()
        acc = read_back(captioner, model, held_out[:200])
        print(f"epoch {epoch + 1}: loss {total / args.train:.4f}, captioner reads back {acc:.3f} of 200 held-out prompts "
              f"({time.time() - t0:.0f} s)", flush=True)

    model.eval()
    right = read_back(captioner, model, held_out, each=True)
    acc = sum(right) / len(held_out)
    print(f"the captioner reads back {acc:.4f} of {len(held_out)} held-out prompts' drawings")
    os.makedirs(args.out, exist_ok=True)
    meta = {"vocabulary": json.dumps(VOCAB), "image_size": scenes.SIZE, "mean": 0.5, "std": 0.5, "seed": args.seed,
            "train_prompts": args.train, "epochs": args.epochs, "steps": step, "held_out_prompts": len(held_out), "read_back_accuracy": f"{acc:.4f}",
            "trained_by": "tools/train_text_to_image.py", "torch": torch.__version__}
    save_safetensors(os.path.join(args.out, "draw.safetensors"), {k: v.float() for k, v in model.state_dict().items()},
                     meta)
    # The demo's prompts: the first six held-out prompts whose drawings read back (the
    # figure above is the whole set's).
    shown = [p for p, r in zip(held_out, right) if r][:6]
    with open(os.path.join(args.out, "prompts.txt"), "w") as f:
        f.write("# held-out prompts (tools/train_text_to_image.py: the first six whose drawings the captioner reads back)\n")
        f.write("".join(p + "\n" for p in shown))
    print(f"wrote {args.out} ({time.time() - t0:.0f} s total)")


if __name__ == "__main__":
    main()
