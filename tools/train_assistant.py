"""Trains the multimodal assistant of examples/assistant and exports it for mmm.

Data: tools/scenes.py — 64×64 scenes of 1–3 coloured shapes on textured backgrounds, and
questions about them with free-text answers ("what color is the square ?" → "the square is
blue"; colour, shape, count, position, size, existence). Questions say "color" or "colour".

Model (LLaVA-style; torch names are the state_dict mmm loads):
    encoder         the captioner's ResNet-style CNN (tools/train_captioner.py Encoder), its
                    trained weights from examples/caption/caption.safetensors, frozen: a
                    128×8×8 map
    image_proj      its 2×2 patches merged, Conv2d(128 → D, 2, stride 2): 16 image tokens
    question_embed  the question's words, Embedding(V, 64)
    question_lstm   nn.LSTM(64, 128), one output per word
    question_proj   Linear(128 → D)
    embed           the answer's tokens, Embedding(V, D)
    pos             learned positions over the whole sequence
    blocks, ln_f    GPT-2 blocks (pre-norm causal self-attention, GELU MLP; the reference
                    of tools/reference/decoder_blocks.py), a final LayerNorm
    head            Linear(D → V)
One token sequence per question: [16 image tokens][question tokens][<bos> answer <eos>],
each item's parts packed (tools/mmm_fusion.py SequenceJoin, mmm's SequenceJoin), causal
self-attention over all of it. The answer is decoded greedily (or by beam search) from
<bos> with a KV cache that holds the image and the question after one prefill.

Writes (default --out examples/assistant): assistant.safetensors (float32, metadata:
vocabulary, accuracy, settings), inputs/ with a few held-out scenes and inputs.tsv (image,
question, true answer).
Run with Debian's python3:  /usr/bin/python3 tools/train_assistant.py
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
import train_captioner as captioner  # noqa: E402
from mmm_oracle import load_safetensors, save_safetensors  # noqa: E402
from reference.decoder_blocks import GPT2Block  # noqa: E402

VOCAB = scenes.vocabulary() + ["colour"]
PAD, BOS, EOS = VOCAB.index("<pad>"), VOCAB.index("<bos>"), VOCAB.index("<eos>")
D, HEADS, LAYERS = 128, 4, 2
WORD_DIM, QUESTION_HIDDEN = 64, 128
IMAGE_TOKENS, MAX_QUESTION, MAX_ANSWER = 16, 12, 10      # answer: <bos> words <eos>
MAX_LEN = IMAGE_TOKENS + MAX_QUESTION + MAX_ANSWER       # learned positions
KINDS = ("color", "shape", "count", "where", "size", "exists")


class Assistant(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = captioner.Encoder()
        self.image_proj = nn.Conv2d(captioner.D, D, 2, stride=2)
        self.question_embed = nn.Embedding(len(VOCAB), WORD_DIM)
        self.question_lstm = nn.LSTM(WORD_DIM, QUESTION_HIDDEN, batch_first=True)
        self.question_proj = nn.Linear(QUESTION_HIDDEN, D)
        self.embed = nn.Embedding(len(VOCAB), D)
        self.pos = captioner.LearnedPositions(MAX_LEN, D)
        self.blocks = nn.ModuleList(GPT2Block(D, HEADS) for _ in range(LAYERS))
        self.ln_f = nn.LayerNorm(D)
        self.head = nn.Linear(D, len(VOCAB))

    def features(self, images):
        """N images → their 128×8×8 maps."""
        return self.encoder(images)

    def image_tokens(self, features):
        """The maps' 2×2 patches merged into one token each (a learned projection, so that what
        was where inside a patch survives): N × 16 × D, row by row."""
        return self.image_proj(features).flatten(2).transpose(1, 2)

    def question_tokens(self, questions):
        """N padded question rows (ids, padding at the end) → N × Tq × D. The LSTM runs
        forward only, so the padding after a row's words does not change its outputs."""
        out, _ = self.question_lstm(self.question_embed(questions))
        return self.question_proj(out)

    def prefix(self, features, questions, lengths):
        """(x [N, P, D], lengths [N]): each item's image tokens then its question tokens."""
        x, total = join([self.image_tokens(features), (self.question_tokens(questions), lengths)])
        return x, total

    def logits(self, prefix, prefix_lengths, answers, answer_lengths):
        """Every position's logits of [prefix][answer tokens] (packed, padding at the end), and
        the joined lengths: each position sees those before it."""
        x, total = join([(prefix, prefix_lengths), (self.embed(answers), answer_lengths)])
        x = self.pos(x)
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln_f(x)), total


def join(parts):
    """mmm's SequenceJoin (tools/mmm_fusion.py's reference, in one gather so that training's
    backward is fast): each item's valid steps of every part one after another, then zeros.
    parts: tensors [N, T, D] (every step valid) or (x, lengths). Gives (y, lengths)."""
    xs = [p[0] if isinstance(p, tuple) else p for p in parts]
    lengths = [p[1].long() if isinstance(p, tuple) else torch.full((p.shape[0],), p.shape[1]) for p in parts]
    total = sum(x.shape[1] for x in xs)
    t = torch.arange(total)[None, :]
    source = torch.zeros(xs[0].shape[0], total, dtype=torch.long)
    valid = torch.zeros(xs[0].shape[0], total, dtype=torch.bool)
    start, base = torch.zeros(xs[0].shape[0], dtype=torch.long), 0
    for x, n in zip(xs, lengths):
        rel = t - start[:, None]
        inside = (rel >= 0) & (rel < n[:, None])
        source = torch.where(inside, base + rel, source)
        valid |= inside
        start, base = start + n, base + x.shape[1]
    y = torch.cat(xs, 1).gather(1, source[..., None].expand(-1, -1, xs[0].shape[2])) * valid[..., None]
    return y, start


class PrefixDecoder:
    """The assistant with the step-decoder protocol of tools/mmm_generate.py: the state is each
    row's prefix (image and question tokens) and its answer tokens so far, and a step runs the
    whole sequence again — the plain computation mmm's KV-cache step has to reproduce."""

    def __init__(self, model):
        self.model = model
        self.vocab_size = len(VOCAB)

    def make_state(self, prefix, lengths, per_item):
        """prefix [items, P, D]: item i is the prefix of rows i*per_item .. i*per_item+per_item-1."""
        return (prefix.repeat_interleave(per_item, 0), lengths.repeat_interleave(per_item, 0),
                [[] for _ in range(prefix.shape[0] * per_item)])

    def step(self, new_tokens, state):
        prefix, lengths, rows = state
        rows = [r + list(t) for r, t in zip(rows, new_tokens)]
        counts = torch.tensor([len(r) for r in rows])
        answers = torch.full((len(rows), int(counts.max())), PAD, dtype=torch.long)
        for i, r in enumerate(rows):
            answers[i, : len(r)] = torch.tensor(r, dtype=torch.long)
        with torch.no_grad():
            logits, total = self.model.logits(prefix, lengths, answers, counts)
            last = logits[torch.arange(len(rows)), total - 1]
        return last.numpy().astype(np.float32), (prefix, lengths, rows)

    def reorder(self, state, sources):
        prefix, lengths, rows = state
        idx = torch.tensor(sources)
        return prefix[idx], lengths[idx], [list(rows[s]) for s in sources]


def ids_of(text):
    index = {w: i for i, w in enumerate(VOCAB)}
    return [index[w] for w in text.split()]


def ask(rng, objects, kind):
    """scenes.question, with "colour" for "color" in half the questions."""
    q, a = scenes.question(rng, objects, kind)
    if q.startswith("what color") and rng.random() < 0.5:
        q = q.replace("what color", "what colour")
    return q, a


def scene_questions(rng, per_scene):
    """A fresh scene (PIL image) and per_scene questions of different kinds about it, with
    their answers: make_set's draws (without mirroring)."""
    img, objects, _, _ = scenes.scene(rng)
    return img, [ask(rng, objects, kind) for kind in rng.sample(KINDS, per_scene)]


def make_set(rng, scenes_count, per_scene, mirrored=False):
    """Scenes and their questions: (images [S,3,64,64], scene index, question, answer) lists.
    mirrored: each scene also left-right mirrored, with questions about the mirrored scene
    (every shape here is symmetric about its vertical axis, so that is a true scene too)."""
    images, owner, questions, answers = [], [], [], []

    def add(array, qa):
        images.append(array)
        for q, a in qa:
            owner.append(len(images) - 1)
            questions.append(q)
            answers.append(a)

    for s in range(scenes_count):
        img, objects, _, _ = scenes.scene(rng)
        array = scenes.image_array(img)
        add(array, [ask(rng, objects, kind) for kind in rng.sample(KINDS, per_scene)])
        if mirrored:
            flipped = [(size, color, shape, (scenes.RENDER - x, y)) for size, color, shape, (x, y) in objects]
            add(np.ascontiguousarray(array[:, :, ::-1]), [ask(rng, flipped, kind) for kind in rng.sample(KINDS, per_scene)])
    return torch.from_numpy(np.stack(images)), owner, questions, answers


def pad_rows(rows):
    """Id rows as a padded LongTensor (padding at the end) and their lengths."""
    lengths = torch.tensor([len(r) for r in rows])
    out = torch.full((len(rows), int(lengths.max())), PAD, dtype=torch.long)
    for i, r in enumerate(rows):
        out[i, : len(r)] = torch.tensor(r)
    return out, lengths


def encode_questions(questions):
    return pad_rows([ids_of(q) for q in questions])


def encode_answers(answers):
    return pad_rows([[BOS] + ids_of(a) + [EOS] for a in answers])


def features_of(model, images, batch=250):
    with torch.no_grad():
        return torch.cat([model.features(images[i:i + batch]) for i in range(0, len(images), batch)])


def greedy(model, features, questions, lengths):
    """Greedy answers (text) of N questions about N feature maps, batched."""
    with torch.no_grad():
        prefix, plen = model.prefix(features, questions, lengths)
        n = features.shape[0]
        tokens = torch.full((n, 1), BOS, dtype=torch.long)
        done = torch.zeros(n, dtype=torch.bool)
        for _ in range(MAX_ANSWER - 1):
            logits, total = model.logits(prefix, plen, tokens, torch.full((n,), tokens.shape[1]))
            nxt = logits[torch.arange(n), total - 1].argmax(-1)
            nxt = torch.where(done, torch.full_like(nxt, EOS), nxt)
            tokens = torch.cat([tokens, nxt[:, None]], 1)
            done |= nxt == EOS
            if bool(done.all()):
                break
    out = []
    for row in tokens.tolist():
        words = []
        for i in row[1:]:
            if i == EOS:
                break
            words.append(VOCAB[i])
        out.append(" ".join(words))
    return out


def accuracy(model, feats, owner, questions, answers, batch=500):
    """Exact greedy answers, overall and per question kind."""
    model.eval()
    q, ql = encode_questions(questions)
    got = []
    for i in range(0, len(questions), batch):
        f = feats[torch.tensor(owner[i:i + batch])]
        got += greedy(model, f, q[i:i + batch], ql[i:i + batch])
    right = [g == a for g, a in zip(got, answers)]
    kinds = {}
    for r, qq in zip(right, questions):
        k = kind_of(qq)
        kinds.setdefault(k, []).append(r)
    return sum(right) / len(right), {k: sum(v) / len(v) for k, v in sorted(kinds.items())}


def kind_of(question):
    for key, kind in (("color", "color"), ("colour", "color"), ("shape", "shape"), ("many", "count"),
                      ("where", "where"), ("big", "size"), ("there a", "exists")):
        if key in question:
            return kind
    return "other"


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=os.path.join(here, "..", "examples", "assistant"))
    parser.add_argument("--captioner", default=os.path.join(here, "..", "examples", "caption", "caption.safetensors"))
    parser.add_argument("--seed", type=int, default=21)
    parser.add_argument("--train", type=int, default=5000, help="training scenes")
    parser.add_argument("--per-scene", type=int, default=4, help="questions per training scene")
    parser.add_argument("--test", type=int, default=1000, help="held-out scenes (2 questions each)")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    t0 = time.time()

    model = Assistant()
    weights, _ = load_safetensors(args.captioner)
    model.encoder.load_state_dict({k[len("encoder."):]: v for k, v in weights.items() if k.startswith("encoder.")},
                                  strict=False)
    for p in model.encoder.parameters():
        p.requires_grad_(False)
    model.encoder.eval()

    train_x, train_owner, train_q, train_a = make_set(random.Random(args.seed), args.train, args.per_scene, True)
    test_x, test_owner, test_q, test_a = make_set(random.Random(args.seed + 1), args.test, 2)
    train_f, test_f = features_of(model, train_x), features_of(model, test_x)
    del train_x
    tq, tql = encode_questions(train_q)
    ta, tal = encode_answers(train_a)
    owner = torch.tensor(train_owner)
    n = len(train_q)
    print(f"data: {args.train} training scenes and their mirror images ({n} questions), {args.test} held-out scenes ({len(test_q)} questions); "
          f"encoder features in {time.time() - t0:.0f} s", flush=True)

    trained = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(trained, lr=1e-3, weight_decay=0.01)
    batch = 128
    steps = args.epochs * ((n + batch - 1) // batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=steps, pct_start=0.15)
    loss_fn = nn.CrossEntropyLoss(ignore_index=-100)
    for epoch in range(args.epochs):
        model.train()
        model.encoder.eval()
        perm = torch.randperm(n)
        total_loss = 0.0
        for i in range(0, n, batch):
            idx = perm[i:i + batch]
            ql = tql[idx]
            q = tq[idx][:, : int(ql.max())]
            al = tal[idx]
            a = ta[idx][:, : int(al.max())]
            prefix, plen = model.prefix(train_f[owner[idx]], q, ql)
            logits, _ = model.logits(prefix, plen, a[:, :-1], al - 1)
            # The position of answer token j predicts token j + 1.
            target = torch.full(logits.shape[:2], -100, dtype=torch.long)
            for r in range(len(idx)):
                k = int(al[r]) - 1
                target[r, int(plen[r]): int(plen[r]) + k] = a[r, 1: k + 1]
            loss = loss_fn(logits.reshape(-1, len(VOCAB)), target.reshape(-1))
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total_loss += loss.item() * len(idx)
        acc, kinds = accuracy(model, test_f, test_owner[:600], test_q[:600], test_a[:600])
        print(f"epoch {epoch + 1}: loss {total_loss / n:.4f}, exact answers (greedy, 600 held-out) {acc:.3f} "
              f"{json.dumps({k: round(v, 3) for k, v in kinds.items()})} ({time.time() - t0:.0f} s)", flush=True)

    model.eval()
    acc, kinds = accuracy(model, test_f, test_owner, test_q, test_a)
    print(f"exact-answer accuracy on {len(test_q)} held-out questions ({args.test} scenes): greedy {acc:.4f}; "
          f"per kind {json.dumps({k: round(v, 4) for k, v in kinds.items()})}")

    os.makedirs(os.path.join(args.out, "inputs"), exist_ok=True)
    meta = {"vocabulary": json.dumps(VOCAB), "image_size": scenes.SIZE, "mean": 0.5, "std": 0.5,
            "max_question": MAX_QUESTION, "max_answer": MAX_ANSWER, "beam_width": 1, "seed": args.seed,
            "train_scenes": args.train, "mirrored": 1, "questions_per_scene": args.per_scene, "epochs": args.epochs,
            "test_scenes": args.test, "test_questions": len(test_q), "accuracy_greedy": f"{acc:.4f}",
            "encoder_from": "examples/caption/caption.safetensors (frozen)",
            "trained_by": "tools/train_assistant.py", "torch": torch.__version__}
    save_safetensors(os.path.join(args.out, "assistant.safetensors"),
                     {k: v.float() for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")},
                     meta)
    rng = random.Random(args.seed + 3)
    rows = []
    for s in range(6):
        img, objects, _, _ = scenes.scene(rng, count=1 + s % 3)
        name = f"scene{s + 1}.png"
        img.save(os.path.join(args.out, "inputs", name))
        for kind in rng.sample(KINDS, 2):
            q, a = ask(rng, objects, kind)
            rows.append(f"inputs/{name}\t{q}\t{a}")
    with open(os.path.join(args.out, "inputs.tsv"), "w") as f:
        f.write("# image\tquestion\ttrue answer (written by tools/train_assistant.py)\n" + "\n".join(rows) + "\n")
    print(f"wrote {args.out} ({time.time() - t0:.0f} s total)")


if __name__ == "__main__":
    main()
