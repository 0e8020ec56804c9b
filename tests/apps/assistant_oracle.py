"""Oracle for tests/apps/assistant.cpp: the multimodal assistant (tools/train_assistant.py's
model, decoded by the procedures of tools/mmm_generate.py that generate/ implements) run by
PyTorch, with
  - the shipped weights (examples/assistant/assistant.safetensors) on the first --held-out
    questions of its held-out set and on --fresh questions about new random scenes, and
  - fresh random weights (every parameter and BatchNorm statistic drawn from this run's
    seed, written to fresh.safetensors with the shipped file's metadata) on --fresh scenes.
Per case: the pixels, the question's word ids, the normalized image, the image tokens, the
prefix (image and question tokens), the greedy and beam-search answers with their scores and
the closest decision each made (mmm_generate's margins), and the logits of every position of
[prefix][<bos> greedy answer] — in float32 and, from the same weights, in float64."""
import copy
import json
import os
import random

import numpy as np
import torch

import mmm_generate
import scenes
import train_assistant as A
from mmm_oracle import Oracle, load_weights, save_safetensors

EXAMPLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples", "assistant")
BEAM_WIDTH = 3


def arg(extra, name, default):
    return int(extra[extra.index(name) + 1]) if name in extra else default


def randomize(model, rng):
    """Every parameter and BatchNorm statistic from the seed, at scales that keep the
    activations of the order of one (so that the logits are far from ties)."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() > 1:
                p.copy_(torch.randn(p.shape, generator=rng) / p[0].numel() ** 0.5)
            else:
                p.copy_(torch.randn(p.shape, generator=rng) * 0.1 + (1.0 if name.endswith("weight") else 0.0))
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=rng) * 0.1)
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=rng) + 0.5)
        model.head.weight.mul_(4.0)


def case(o, name, model, exact, weights, kind, img, question, truth):
    pixels = torch.from_numpy(np.asarray(img.convert("RGB"), dtype=np.uint8).copy())
    image = torch.from_numpy(scenes.image_array(img))[None]
    ids = A.ids_of(question)
    q, ql = torch.tensor([ids]), torch.tensor([len(ids)])
    decoder = A.PrefixDecoder(model)
    features = model.features(image)
    image_tokens = model.image_tokens(features)
    prefix, plen = model.prefix(features, q, ql)
    greedy_margins, beam_margins = [], []
    greedy = mmm_generate.greedy(decoder, decoder.make_state(prefix, plen, 1), [[A.BOS]], A.MAX_ANSWER, eos=A.EOS,
                                 margins=greedy_margins)[0][0]
    beam = mmm_generate.beam_search(decoder, decoder.make_state(prefix, plen, BEAM_WIDTH), [[A.BOS]], A.MAX_ANSWER,
                                    eos=A.EOS, width=BEAM_WIDTH, margins=beam_margins)[0][0]
    answer = torch.tensor([[A.BOS] + greedy["tokens"]])
    logits, _ = model.logits(prefix, plen, answer, torch.tensor([answer.shape[1]]))
    ep, epl = exact.prefix(exact.features(image.double()), q, ql)
    exact_logits, _ = exact.logits(ep, epl, answer, torch.tensor([answer.shape[1]]))
    text = " ".join(A.VOCAB[t] for t in greedy["tokens"] if t != A.EOS)
    o.save(name,
           inputs={"pixels": pixels, "question": torch.tensor(ids, dtype=torch.int32),
                   "answer": answer.int()},
           outputs={"image": image, "image_tokens": image_tokens, "prefix": prefix, "logits": logits,
                    "exact_logits": exact_logits.float(),
                    "greedy": torch.tensor(greedy["tokens"], dtype=torch.int32),
                    "beam": torch.tensor(beam["tokens"], dtype=torch.int32)},
           metadata={"kind": kind, "weights": weights, "question_text": question, "truth": truth, "answer_text": text,
                     "greedy_score": repr(greedy["score"]), "beam_score": repr(beam["score"]), "beam_width": BEAM_WIDTH,
                     "greedy_margin": repr(min(greedy_margins, default=float("inf"))),
                     "beam_margin": repr(min(beam_margins, default=float("inf")))})
    return text == truth


with Oracle("apps.assistant") as o, torch.no_grad():
    held_out, fresh = arg(o.extra, "--held-out", 12), arg(o.extra, "--fresh", 4)
    shipped = A.Assistant()
    meta = load_weights(shipped, os.path.join(EXAMPLE, "assistant.safetensors"))
    shipped.eval()
    seed = int(meta["seed"])

    random_weights = A.Assistant()
    randomize(random_weights, torch.Generator().manual_seed(o.seed))
    random_weights.eval()
    save_safetensors(os.path.join(o.args.out, "fresh.safetensors"),
                     {k: v.float() for k, v in random_weights.state_dict().items() if not k.endswith("num_batches_tracked")},
                     meta)

    # The first questions of the held-out set (2 per scene, drawn as make_set draws them).
    test_rng, fresh_rng = random.Random(seed + 1), random.Random(o.seed)
    picked = []
    while len(picked) < held_out:
        img, qa = A.scene_questions(test_rng, 2)
        picked += [("held-out", "shipped", img, q, a) for q, a in qa][: held_out - len(picked)]
    for weights in ("shipped", "fresh"):
        for _ in range(fresh):
            img, qa = A.scene_questions(fresh_rng, 1)
            picked.append(("fresh", weights, img, qa[0][0], qa[0][1]))

    exact_shipped, exact_random = copy.deepcopy(shipped).double(), copy.deepcopy(random_weights).double()
    right = 0
    for i, (kind, weights, img, q, a) in enumerate(picked):
        model, exact = (shipped, exact_shipped) if weights == "shipped" else (random_weights, exact_random)
        right += case(o, f"case{i}", model, exact, weights, kind, img, q, a) and weights == "shipped"
    print(f"{len(picked)} cases ({held_out} held-out, {fresh} fresh scenes with the shipped weights, {fresh} with "
          f"fresh random weights, seed {o.seed}): PyTorch's greedy answer right on {right} of {held_out + fresh}")
    print(json.dumps({"cases": len(picked)}))
