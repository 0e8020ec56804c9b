"""Trains the visual question answering model of examples/vqa and exports it for mmm.

Scenes: one or two shapes (circle, square, triangle) in red, green, blue or yellow, of
random sizes at random places on a dark, noisy background, drawn with PIL at 96×96 and
reduced to 24×24 (box filter). Questions: "what color is the circle?", "what shape is the
red object?", "is there a blue square?", "how many objects are there?". Answers: one of
ANSWERS.

The torch model mirrors the mmm type in examples/vqa/vqa.hpp, module for module, so that
its state_dict loads there without renaming:

    Sequential<Parallel<Sequential<Conv2D<3, 16, Conv{.kernel = 3, .stride = 2, .pad = 1}>, ReLU,
                                   Conv2D<16, 32, Conv{.kernel = 3, .stride = 2, .pad = 1}>, ReLU,
                                   Flatten<32, 6, 6>, Linear<1152, 128>, ReLU>,
                        Sequential<Embedding<23, 32>, MeanPool, Linear<32, 64>, ReLU>>,
               FusionConcat, Linear<192, 128>, ReLU, SoftmaxHead<128, 11>>

Writes (default --out examples/vqa): vqa.safetensors (float32 weights; metadata: answers,
image size, normalization, accuracy), vocab.txt (one word per line, the specials <pad>,
<bos>, <eos>, <unk> at ids 0..3: mmm::Vocabulary::load reads it), and inputs/ with a few
test scenes (PNG) and inputs.tsv (image, question, expected answer).

Run with Debian's python3 (it has torch):  /usr/bin/python3 tools/train_vqa.py
Takes a few minutes on 2 cores; deterministic for a given --seed.
"""
import argparse
import json
import os
import random
import re
import struct
import sys
import time

import numpy as np
import torch
from PIL import Image, ImageDraw
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mmm_oracle import save_safetensors  # noqa: E402

IMAGE_SIZE = 24          # what the model sees
RENDER_SIZE = 96         # drawn at 4× and box-filtered down, for smooth edges
MEAN, STD = 0.5, 0.5     # (pixel / 255 - MEAN) / STD, every channel
COLORS = {"red": (220, 40, 40), "green": (40, 190, 60), "blue": (50, 80, 235), "yellow": (230, 215, 40)}
SHAPES = ("circle", "square", "triangle")
ANSWERS = ["red", "green", "blue", "yellow", "circle", "square", "triangle", "yes", "no", "one", "two"]
SPECIALS = ["<pad>", "<bos>", "<eos>", "<unk>"]
WORDS = ["what", "color", "is", "the", "circle", "square", "triangle", "shape", "red", "green", "blue",
         "yellow", "object", "there", "a", "how", "many", "objects", "are"]
VOCAB = SPECIALS + WORDS
IMAGE_HIDDEN, EMBED, TEXT_HIDDEN, FUSED = 128, 32, 64, 128


# ---- Scenes and questions ----

def draw_scene(rng, objects=None):
    """A PIL image of 1–2 objects; returns (image, [(color, shape), ...])."""
    if objects is None:
        n = 1 if rng.random() < 0.4 else 2
        colors = rng.sample(list(COLORS), n)
        shapes = rng.sample(SHAPES, n)
        objects = list(zip(colors, shapes))
    bg = rng.randint(0, 60)
    img = Image.new("RGB", (RENDER_SIZE, RENDER_SIZE), (bg, bg, bg + rng.randint(0, 20)))
    draw = ImageDraw.Draw(img)
    boxes = []
    for color, shape in objects:
        for _ in range(100):  # anywhere, without overlap
            size = rng.randint(28, 44)
            x0 = rng.randint(2, RENDER_SIZE - size - 2)
            y0 = rng.randint(2, RENDER_SIZE - size - 2)
            box = (x0, y0, x0 + size, y0 + size)
            if all(box[2] + 4 < b[0] or b[2] + 4 < box[0] or box[3] + 4 < b[1] or b[3] + 4 < box[1] for b in boxes):
                break
        boxes.append(box)
        fill = tuple(max(0, min(255, c + rng.randint(-25, 25))) for c in COLORS[color])
        if shape == "circle":
            draw.ellipse(box, fill=fill)
        elif shape == "square":
            draw.rectangle(box, fill=fill)
        else:
            x0, y0, x1, y1 = box
            draw.polygon([((x0 + x1) / 2, y0), (x1, y1), (x0, y1)], fill=fill)
    img = img.resize((IMAGE_SIZE, IMAGE_SIZE), Image.BOX)
    # Sensor-like noise, so that the model does not key on exact flat colors.
    arr = np.asarray(img).astype(np.int16)
    arr += np.random.default_rng(rng.randrange(1 << 32)).integers(-8, 9, arr.shape, dtype=np.int16)
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8)), objects


def ask(rng, objects, kind=None):
    """A question about the scene and its answer."""
    kind = kind or rng.choice(["color", "shape", "exists", "count"])
    color, shape = rng.choice(objects)
    if kind == "color":
        return f"what color is the {shape}?", color
    if kind == "shape":
        return f"what shape is the {color} object?", shape
    if kind == "count":
        return "how many objects are there?", ["one", "two"][len(objects) - 1]
    if rng.random() < 0.5:
        return f"is there a {color} {shape}?", "yes"
    # A combination that is not there; often one that shares a color or a shape with an
    # object that is, so that the answer needs both.
    while True:
        c = color if rng.random() < 0.35 else rng.choice(list(COLORS))
        s = shape if rng.random() < 0.35 else rng.choice(SHAPES)
        if (c, s) not in objects:
            return f"is there a {c} {s}?", "no"


def words(question):
    """The same normalization as examples/vqa: lower case, letters and digits only."""
    return re.sub(r"[^a-z0-9]+", " ", question.lower()).split()


def encode(question):
    ids = {w: i for i, w in enumerate(VOCAB)}
    return [ids.get(w, ids["<unk>"]) for w in words(question)]


def image_tensor(img):
    """[3, H, W] float, normalized as the C++ example does: (v / 255 - MEAN) / STD."""
    x = torch.from_numpy(np.asarray(img.convert("RGB"), dtype=np.uint8).copy()).permute(2, 0, 1).float()
    return (x / 255 - MEAN) / STD


def batch_tokens(questions):
    encoded = [encode(q) for q in questions]
    length = max(1, max(len(e) for e in encoded))
    tokens = torch.zeros(len(encoded), length, dtype=torch.long)
    for i, e in enumerate(encoded):
        tokens[i, :len(e)] = torch.tensor(e, dtype=torch.long)
    return tokens, torch.tensor([len(e) for e in encoded], dtype=torch.long)


# ---- The model, module for module as in mmm ----

class MeanPool(nn.Module):
    """mmm::MeanPool: mean over each item's valid steps."""

    def forward(self, x, lengths):
        mask = (torch.arange(x.shape[1])[None, :] < lengths[:, None]).to(x.dtype)
        return (x * mask[:, :, None]).sum(1) / lengths[:, None].to(x.dtype)


class TextEncoder(nn.Sequential):
    """Takes (tokens, lengths); children 0..3 as in Sequential<Embedding, MeanPool, Linear, ReLU>."""

    def forward(self, inputs):
        tokens, lengths = inputs
        x = self[1](self[0](tokens), lengths)
        for m in list(self)[2:]:
            x = m(x)
        return x


class Parallel(nn.ModuleList):
    """mmm::Parallel: one input per branch, branches named "0", "1"."""

    def forward(self, inputs):
        return tuple(m(x) for m, x in zip(self, inputs))


class FusionConcat(nn.Module):
    def forward(self, xs):
        return torch.cat(xs, dim=-1)


class SoftmaxHead(nn.Linear):
    """mmm::SoftmaxHead: Linear + softmax; trained on logits()."""

    def logits(self, x):
        return super().forward(x)

    def forward(self, x):
        return torch.softmax(super().forward(x), dim=-1)


def build_model():
    image = nn.Sequential(nn.Conv2d(3, 16, 3, stride=2, padding=1), nn.ReLU(),
                          nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.ReLU(),
                          nn.Flatten(), nn.Linear(32 * (IMAGE_SIZE // 4) ** 2, IMAGE_HIDDEN), nn.ReLU())
    text = TextEncoder(nn.Embedding(len(VOCAB), EMBED), MeanPool(), nn.Linear(EMBED, TEXT_HIDDEN), nn.ReLU())
    return nn.Sequential(Parallel([image, text]), FusionConcat(), nn.Linear(IMAGE_HIDDEN + TEXT_HIDDEN, FUSED),
                         nn.ReLU(), SoftmaxHead(FUSED, len(ANSWERS)))


def logits(model, images, tokens, lengths):
    x = images, (tokens, lengths)
    for m in list(model)[:-1]:
        x = m(x)
    return model[-1].logits(x)


def load_weights(model, path):
    """Reads an F32 safetensors file (the one this script writes) into the model."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    meta = header.pop("__metadata__", {})
    state = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        assert info["dtype"] == "F32", f"{path}: {name} is {info['dtype']}, expected F32"
        state[name] = torch.frombuffer(bytearray(data[begin:end]), dtype=torch.float32).reshape(info["shape"])
    model.load_state_dict(state)
    return meta


def make_set(rng, n):
    images, questions, answers = [], [], []
    for _ in range(n):
        img, objects = draw_scene(rng)
        q, a = ask(rng, objects)
        images.append(image_tensor(img))
        questions.append(q)
        answers.append(ANSWERS.index(a))
    tokens, lengths = batch_tokens(questions)
    return torch.stack(images), tokens, lengths, torch.tensor(answers), questions


def accuracy(model, data, batch=1000):
    images, tokens, lengths, answers = data[:4]
    right = 0
    with torch.no_grad():
        for i in range(0, len(answers), batch):
            out = logits(model, images[i:i + batch], tokens[i:i + batch], lengths[i:i + batch])
            right += (out.argmax(-1) == answers[i:i + batch]).sum().item()
    return right / len(answers)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=os.path.join(here, "..", "examples", "vqa"))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--train", type=int, default=60000, help="training scenes")
    parser.add_argument("--epochs", type=int, default=20)
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    # One thread: on a busy 2-core machine two threads were 30× slower (contention), and
    # these matrices are small.
    torch.set_num_threads(1)
    rng = random.Random(args.seed)
    t0 = time.time()
    train = make_set(rng, args.train)
    test = make_set(random.Random(args.seed + 1), 5000)
    print(f"data: {args.train} training, 5000 test scenes in {time.time() - t0:.0f} s", flush=True)

    model = build_model()
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    steps = args.epochs * ((args.train + 127) // 128)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps)
    loss_fn = nn.CrossEntropyLoss()
    images, tokens, lengths, answers, _ = train
    for epoch in range(args.epochs):
        model.train()
        perm = torch.randperm(len(answers))
        total = 0.0
        for i in range(0, len(perm), 128):
            idx = perm[i:i + 128]
            loss = loss_fn(logits(model, images[idx], tokens[idx], lengths[idx]), answers[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
        model.eval()
        if epoch % 5 == 4 or epoch == args.epochs - 1:
            print(f"epoch {epoch + 1}: loss {total / len(perm):.4f}, test accuracy {accuracy(model, test):.4f} "
                  f"({time.time() - t0:.0f} s)", flush=True)

    model.eval()
    test_acc = accuracy(model, test)
    train_acc = accuracy(model, train)
    per_kind = {}
    for kind in ("color", "shape", "exists", "count"):
        r = random.Random(args.seed + 2)
        imgs, qs, ans = [], [], []
        for _ in range(1000):
            img, objects = draw_scene(r)
            q, a = ask(r, objects, kind)
            imgs.append(image_tensor(img))
            qs.append(q)
            ans.append(ANSWERS.index(a))
        t, l = batch_tokens(qs)
        per_kind[kind] = accuracy(model, (torch.stack(imgs), t, l, torch.tensor(ans)))
    print(f"accuracy: train {train_acc:.4f}, test {test_acc:.4f}; by question: "
          + ", ".join(f"{k} {v:.4f}" for k, v in per_kind.items()), flush=True)

    os.makedirs(os.path.join(args.out, "inputs"), exist_ok=True)
    meta = {"answers": json.dumps(ANSWERS), "image_size": IMAGE_SIZE, "mean": MEAN, "std": STD,
            "vocabulary": "vocab.txt", "seed": args.seed, "test_accuracy": f"{test_acc:.4f}",
            "accuracy_by_question": json.dumps({k: round(v, 4) for k, v in per_kind.items()}),
            "trained_by": "tools/train_vqa.py", "torch": torch.__version__}
    save_safetensors(os.path.join(args.out, "vqa.safetensors"),
                     {k: v.float() for k, v in model.state_dict().items()}, meta)
    with open(os.path.join(args.out, "vocab.txt"), "w") as f:
        f.write("".join(w + "\n" for w in VOCAB))

    # Shipped inputs: fresh scenes, two questions of each kind. Only scenes the model
    # answers right are shipped (the demo's check expects the right answer); how many
    # were passed over is printed.
    r = random.Random(args.seed + 3)
    rows, skipped = [], 0
    for kind in ("color", "shape", "exists", "exists", "count", "color", "shape", "exists"):
        while True:
            img, objects = draw_scene(r)
            q, a = ask(r, objects, kind)
            t, l = batch_tokens([q])
            with torch.no_grad():
                got = ANSWERS[logits(model, image_tensor(img)[None], t, l).argmax(-1).item()]
            if got == a:
                break
            skipped += 1
        name = f"scene{len(rows) + 1}.png"
        img.save(os.path.join(args.out, "inputs", name))
        rows.append(f"inputs/{name}\t{q}\t{a}")
    with open(os.path.join(args.out, "inputs.tsv"), "w") as f:
        f.write("# image\tquestion\texpected answer (written by tools/train_vqa.py)\n" + "\n".join(rows) + "\n")
    print(f"wrote {args.out}: vqa.safetensors, vocab.txt, {len(rows)} inputs "
          f"({skipped} candidate scenes passed over as answered wrong); {time.time() - t0:.0f} s total")


if __name__ == "__main__":
    main()
