"""Oracle for tests/fusion/vqa.cpp: the shipped VQA model (examples/vqa/vqa.safetensors)
run by PyTorch — the model class of tools/train_vqa.py — on the shipped inputs and on a
fresh batch of random scenes and questions (padded, with per-item lengths)."""
import json
import os
import random

import numpy as np
import torch
from PIL import Image

import train_vqa as T
from mmm_oracle import Oracle

EXAMPLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples", "vqa")

with Oracle("fusion.vqa") as o, torch.no_grad():
    model = T.build_model()
    T.load_weights(model, os.path.join(EXAMPLE, "vqa.safetensors"))
    model.eval()

    def run(images, questions):
        tokens, lengths = T.batch_tokens(questions)
        return model((images, (tokens, lengths))), tokens, lengths

    # The shipped inputs, one at a time as the demo runs them.
    rows = [line.rstrip("\n").split("\t") for line in open(os.path.join(EXAMPLE, "inputs.tsv")) if not line.startswith("#")]
    for i, (image, question, answer) in enumerate(rows):
        img = Image.open(os.path.join(EXAMPLE, image)).convert("RGB")
        probs, tokens, _ = run(T.image_tensor(img)[None], [question])
        o.save(f"shipped{i}", inputs={"tokens": tokens.int()}, outputs={"probs": probs},
               metadata={"image": image, "question": question, "answer": answer})

    # A random batch: fresh scenes and questions, padded to the longest question.
    rng = random.Random(o.seed)
    batch = rng.randint(2, 9)
    scenes = [T.draw_scene(rng) for _ in range(batch)]
    questions = [T.ask(rng, objects)[0] for _, objects in scenes]
    questions[0] = "What COLOR is the  mystery object?"  # case, spacing and an unknown word
    pixels = torch.from_numpy(np.stack([np.asarray(img, dtype=np.uint8) for img, _ in scenes]))
    images = torch.stack([T.image_tensor(img) for img, _ in scenes])
    probs, tokens, lengths = run(images, questions)
    o.save("random_batch", inputs={"pixels": pixels, "tokens": tokens.int(), "lengths": lengths.int()},
           outputs={"probs": probs}, metadata={"questions": json.dumps(questions)})
