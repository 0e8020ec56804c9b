"""Oracle for tests/apps/caption.cpp: the shipped captioner (examples/caption/caption.safetensors)
run by PyTorch — the model class of tools/train_captioner.py, decoded by the procedures of
tools/mmm_generate.py that generate/ implements — on a slice of its held-out scenes (the
first --held-out of the 2000 the training script measured on) and on --fresh new random
scenes. Per scene: the pixels, the normalized image, the memory, the beam-search and greedy
captions with their scores, and the logits of every position of the beam caption — as PyTorch
computes them in float32 and as the same weights give them in float64 (the exact answer)."""
import copy
import json
import os
import random

import numpy as np
import torch

import mmm_generate
import scenes
import train_captioner as T
from mmm_decoders import MemoryDecoder
from mmm_oracle import Oracle, load_weights

EXAMPLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples", "caption")

with Oracle("apps.caption") as o, torch.no_grad():
    o_args = o.extra
    held_out = int(o_args[o_args.index("--held-out") + 1]) if "--held-out" in o_args else 16
    fresh = int(o_args[o_args.index("--fresh") + 1]) if "--fresh" in o_args else 4
    model = T.Captioner()
    meta = load_weights(model, os.path.join(EXAMPLE, "caption.safetensors"))
    model.eval()
    exact = copy.deepcopy(model).double()
    width, seed = int(meta["beam_width"]), int(meta["seed"])
    decoder = MemoryDecoder(model, len(T.VOCAB))

    test_rng, fresh_rng = random.Random(seed + 1), random.Random(o.seed)
    picked = [("held-out", test_rng) for _ in range(held_out)] + [("fresh", fresh_rng) for _ in range(fresh)]
    right = 0
    for i, (kind, rng) in enumerate(picked):
        img, _, _, truth = scenes.scene(rng)
        pixels = torch.from_numpy(np.asarray(img.convert("RGB"), dtype=np.uint8).copy())
        image = torch.from_numpy(scenes.image_array(img))[None]
        memory = model.memory(image)
        beam = mmm_generate.beam_search(decoder, decoder.make_state(memory, width), [[T.BOS]], T.MAX_LEN,
                                        eos=T.EOS, width=width)[0][0]
        greedy = mmm_generate.greedy(decoder, decoder.make_state(memory, 1), [[T.BOS]], T.MAX_LEN, eos=T.EOS)[0][0]
        tokens = torch.tensor([[T.BOS] + beam["tokens"]])
        logits = model.logits(memory, tokens)
        exact_logits = exact.logits(exact.memory(image.double()), tokens).float()
        caption = " ".join(T.VOCAB[t] for t in beam["tokens"] if t != T.EOS)
        right += caption == truth
        o.save(f"scene{i}",
               inputs={"pixels": pixels, "tokens": tokens.int()},
               outputs={"image": image, "memory": memory, "logits": logits, "exact_logits": exact_logits,
                        "beam": torch.tensor(beam["tokens"], dtype=torch.int32),
                        "greedy": torch.tensor(greedy["tokens"], dtype=torch.int32)},
               metadata={"kind": kind, "truth": truth, "caption": caption, "beam_score": repr(beam["score"]),
                         "greedy_score": repr(greedy["score"]), "width": width})
    print(f"{len(picked)} scenes ({held_out} held-out, {fresh} fresh): PyTorch's beam caption right on {right}")
    print(json.dumps({"cases": len(picked)}))
