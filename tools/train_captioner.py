"""Trains the image captioning model of examples/caption and exports it for mmm.

Data: tools/scenes.py — 64×64 scenes of 1–3 coloured shapes on textured backgrounds, each
with its one canonical caption ("a small red circle to the left of a large blue square").

Model (torch names are the state_dict mmm loads):
    encoder   a ResNet-style CNN: stem conv 3→32 stride 2 + BN + ReLU, then torchvision
              BasicBlocks 32→64 (stride 2), 64→128 (stride 2): a 128×8×8 map
    memory    the 64 map positions as tokens: Linear(128 → D) plus learned positions
    decoder   token embedding + learned positions, nn.TransformerDecoder (pre-norm layers,
              cross-attention over the memory, final LayerNorm), Linear(D → vocabulary)
Decoding: beam search (width 4) from <bos> to <eos>, generate/beam_search.hpp's procedure
(tools/mmm_generate.py beam_search; examples/caption/agreement.py measures it).

Writes (default --out examples/caption): caption.safetensors (float32, metadata: vocabulary,
accuracy, settings), inputs/ with a few held-out scenes and inputs.tsv (image, caption).
Run with Debian's python3:  /usr/bin/python3 tools/train_captioner.py
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
from torchvision.models.resnet import BasicBlock

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import scenes  # noqa: E402
from mmm_oracle import save_safetensors  # noqa: E402

VOCAB = scenes.vocabulary()
PAD, BOS, EOS = VOCAB.index("<pad>"), VOCAB.index("<bos>"), VOCAB.index("<eos>")
D, HEADS, FF, LAYERS, MAX_LEN = 128, 4, 256, 2, 20


def block(cin, cout, stride):
    down = None
    if stride != 1 or cin != cout:
        down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout))
    return BasicBlock(cin, cout, stride=stride, downsample=down)


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 32, 3, stride=2, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(32)
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = block(32, 64, 2)
        self.layer2 = block(64, 128, 2)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        return self.layer2(self.layer1(x))


class LearnedPositions(nn.Module):
    """x + weight[:T]: learned absolute positions."""

    def __init__(self, length, dim):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(length, dim) * 0.02)

    def forward(self, x):
        return x + self.weight[: x.shape[1]]


class Captioner(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = Encoder()
        self.memory_proj = nn.Linear(128, D)
        self.memory_pos = LearnedPositions(64, D)
        self.embed = nn.Embedding(len(VOCAB), D)
        self.pos = LearnedPositions(MAX_LEN, D)
        layer = nn.TransformerDecoderLayer(D, HEADS, FF, dropout=0.1, batch_first=True, norm_first=True)
        self.decoder = nn.TransformerDecoder(layer, LAYERS, norm=nn.LayerNorm(D))
        self.out = nn.Linear(D, len(VOCAB))

    def memory(self, images):
        m = self.encoder(images)                     # N × 128 × 8 × 8
        m = m.flatten(2).transpose(1, 2)             # N × 64 × 128, positions row by row
        return self.memory_pos(self.memory_proj(m))

    def logits(self, memory, tokens):
        t = tokens.shape[1]
        causal = torch.triu(torch.full((t, t), float("-inf")), 1)
        x = self.pos(self.embed(tokens))
        return self.out(self.decoder(x, memory, tgt_mask=causal))


def make_set(rng, n):
    images, caps = [], []
    for _ in range(n):
        img, _, _, cap = scenes.scene(rng)
        images.append(scenes.image_array(img))
        caps.append(cap)
    return torch.from_numpy(np.stack(images)), caps


def encode(caps):
    ids = {w: i for i, w in enumerate(VOCAB)}
    seqs = [[BOS] + [ids[w] for w in c.split()] + [EOS] for c in caps]
    t = max(len(s) for s in seqs)
    out = torch.full((len(seqs), t), PAD, dtype=torch.long)
    for i, s in enumerate(seqs):
        out[i, : len(s)] = torch.tensor(s)
    return out


def greedy(model, memory, max_len=MAX_LEN):
    tokens = torch.full((memory.shape[0], 1), BOS, dtype=torch.long)
    for _ in range(max_len - 1):
        nxt = model.logits(memory, tokens)[:, -1].argmax(-1, keepdim=True)
        tokens = torch.cat([tokens, nxt], 1)
    out = []
    for row in tokens.tolist():
        words = []
        for i in row[1:]:
            if i == EOS:
                break
            words.append(VOCAB[i])
        out.append(" ".join(words))
    return out


def accuracy(model, images, caps, batch=500):
    model.eval()
    right = 0
    with torch.no_grad():
        for i in range(0, len(caps), batch):
            got = greedy(model, model.memory(images[i:i + batch]))
            right += sum(g == c for g, c in zip(got, caps[i:i + batch]))
    return right / len(caps)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=os.path.join(here, "..", "examples", "caption"))
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--train", type=int, default=10000)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    t0 = time.time()
    train_x, train_c = make_set(random.Random(args.seed), args.train)
    test_x, test_c = make_set(random.Random(args.seed + 1), 2000)
    train_t = encode(train_c)
    print(f"data: {args.train} training, {len(test_c)} test scenes in {time.time() - t0:.0f} s", flush=True)

    model = Captioner()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
    batch = 64
    steps = args.epochs * ((args.train + batch - 1) // batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=steps, pct_start=0.15)
    loss_fn = nn.CrossEntropyLoss(ignore_index=PAD, label_smoothing=0.05)
    for epoch in range(args.epochs):
        model.train()
        perm = torch.randperm(args.train)
        total = 0.0
        for i in range(0, args.train, batch):
            idx = perm[i:i + batch]
            tok = train_t[idx]
            out = model.logits(model.memory(train_x[idx]), tok[:, :-1])
            loss = loss_fn(out.reshape(-1, len(VOCAB)), tok[:, 1:].reshape(-1))
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
        acc = accuracy(model, test_x[:500], test_c[:500])
        print(f"epoch {epoch + 1}: loss {total / args.train:.4f}, exact captions (greedy, 500 test) {acc:.3f} "
              f"({time.time() - t0:.0f} s)", flush=True)

    model.eval()
    greedy_acc = accuracy(model, test_x, test_c)
    print(f"exact-caption accuracy on {len(test_c)} held-out scenes: greedy {greedy_acc:.4f} "
          f"(beam search: examples/caption/agreement.py)")

    os.makedirs(os.path.join(args.out, "inputs"), exist_ok=True)
    meta = {"vocabulary": json.dumps(VOCAB), "image_size": scenes.SIZE, "mean": 0.5, "std": 0.5, "max_length": MAX_LEN,
            "beam_width": 4, "seed": args.seed, "train_scenes": args.train, "epochs": args.epochs,
            "test_scenes": len(test_c), "accuracy_greedy": f"{greedy_acc:.4f}", "trained_by": "tools/train_captioner.py", "torch": torch.__version__}
    save_safetensors(os.path.join(args.out, "caption.safetensors"),
                     {k: v.float() for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")},
                     meta)
    rng = random.Random(args.seed + 3)
    rows = []
    for n in range(6):
        img, _, _, cap = scenes.scene(rng, count=1 + n % 3)
        name = f"scene{n + 1}.png"
        img.save(os.path.join(args.out, "inputs", name))
        rows.append(f"inputs/{name}\t{cap}")
    with open(os.path.join(args.out, "inputs.tsv"), "w") as f:
        f.write("# image\ttrue caption (written by tools/train_captioner.py)\n" + "\n".join(rows) + "\n")
    print(f"wrote {args.out} ({time.time() - t0:.0f} s total)")


if __name__ == "__main__":
    main()
