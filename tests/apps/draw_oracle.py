"""Oracle for tests/apps/draw.cpp: the text-to-image model of tools/train_text_to_image.py run
by PyTorch, twice over.

Fresh random weights (this run's seed), written as a weights file the C++ Painter loads
(random.safetensors, with the metadata the shipped file has), on odd prompts: one word, the
brief's example, three objects, a long prompt of random vocabulary words, a word repeated,
and a padded batch of prompts of different lengths.

The shipped weights (examples/draw/draw.safetensors) on the first --held-out of its held-out
prompts (regenerated from the seed in its metadata) and --fresh random prompts: the tanh
outputs (PyTorch's float32 and the float64 evaluation of the same weights), the 8-bit pixels (the training script's to_image), and what the shipped captioner
(examples/caption, PyTorch, beam search of tools/mmm_generate.py) reads in those pixels."""
import copy
import json
import os
import random

import numpy as np
import torch

import mmm_generate
import scenes
import train_captioner as C
import train_text_to_image as T
from mmm_decoders import MemoryDecoder
from mmm_oracle import Oracle, load_weights, save_safetensors

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLES = os.path.join(HERE, "..", "..", "examples")


def tokens_of(prompts):
    tokens, lengths = T.encode(prompts)
    return tokens, lengths


def pixels_of(x):
    return torch.from_numpy(np.asarray(T.to_image(x)).copy())


with Oracle("apps.draw") as o, torch.no_grad():
    args = o.extra
    held_out = int(args[args.index("--held-out") + 1]) if "--held-out" in args else 8
    fresh = int(args[args.index("--fresh") + 1]) if "--fresh" in args else 2

    # --- fresh random weights ---------------------------------------------------------------
    model = T.Drawer().eval()
    meta = {"vocabulary": json.dumps(T.VOCAB), "image_size": scenes.SIZE, "mean": 0.5, "std": 0.5,
            "read_back_accuracy": "0", "seed": o.seed}
    save_safetensors(os.path.join(o.args.out, "random.safetensors"), model.state_dict(), meta)
    rng = random.Random(o.seed)
    words = [w for w in T.VOCAB if not w.startswith("<")]
    single = ["circle",
              "a small red circle above a large blue square",
              T.random_prompt(rng),
              "a large purple diamond , a small green triangle and a small yellow square",
              " ".join(rng.choice(words) for _ in range(rng.randint(30, 50))),
              "red red red red red"]
    for i, prompt in enumerate(single):
        tokens, lengths = tokens_of([prompt])
        o.save(f"random{i}", inputs={"tokens": tokens.int()}, outputs={"image": model(tokens, lengths)},
               metadata={"prompt": prompt})
    batch = [T.random_prompt(rng) for _ in range(4)] + ["square"]
    tokens, lengths = tokens_of(batch)
    o.save("random_batch", inputs={"tokens": tokens.int(), "lengths": lengths.int()},
           outputs={"images": model(tokens, lengths)}, metadata={"prompts": json.dumps(batch)})

    # --- the shipped weights ----------------------------------------------------------------
    drawer = T.Drawer()
    meta = load_weights(drawer, os.path.join(EXAMPLES, "draw", "draw.safetensors"))
    drawer.eval()
    exact = copy.deepcopy(drawer).double()
    captioner = C.Captioner()
    cmeta = load_weights(captioner, os.path.join(EXAMPLES, "caption", "caption.safetensors"))
    captioner.eval()
    width = int(cmeta["beam_width"])
    decoder = MemoryDecoder(captioner, len(C.VOCAB))
    seed = int(meta["seed"])
    prompts = T.held_out_prompts(seed, T.training_prompts(seed, int(meta["train_prompts"])))[:held_out]
    prompts += [T.random_prompt(rng) for _ in range(fresh)]
    right = 0
    for i, prompt in enumerate(prompts):
        tokens, lengths = tokens_of([prompt])
        image = drawer(tokens, lengths)
        pixels = pixels_of(image[0])
        read = torch.from_numpy(scenes.image_array(T.to_image(image[0])))[None]
        beam = mmm_generate.beam_search(decoder, decoder.make_state(captioner.memory(read), width), [[C.BOS]],
                                        C.MAX_LEN, eos=C.EOS, width=width)[0][0]
        caption = " ".join(C.VOCAB[t] for t in beam["tokens"] if t != C.EOS)
        right += caption == prompt
        o.save(f"shipped{i}", inputs={"tokens": tokens.int()},
               outputs={"image": image, "exact_image": exact(tokens, lengths).float(), "pixels": pixels},
               metadata={"prompt": prompt, "caption": caption, "kind": "held-out" if i < held_out else "fresh"})
    print(f"{len(single) + 1} random-weight cases; {len(prompts)} shipped-weight prompts, "
          f"PyTorch's captioner reads {right} of their drawings back")
    print(json.dumps({"cases": len(prompts)}))
