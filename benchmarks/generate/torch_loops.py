"""The work of bench_generate in PyTorch (eager, torch.inference_mode, Python loops): a
64-token prompt, 128 new tokens, greedy and beam search of width 4, with the models of
generate.cpp — GPT-2 (vocab 8000, dim 256, 4 heads, 4 layers, tied head) stepping over a KV
cache (past keys and values concatenated per step; beams reorder it with index_select) and
an Embedding(8000, 256) → LSTM(256, 256, 2 layers) → Linear(256, 8000) decoder. The peer
loop a PyTorch user writes; its kernels are libtorch's (the Python overhead per op included).

    /usr/bin/python3 benchmarks/generate/torch_loops.py [--repetitions 5] [--threads 1,2]
    /usr/bin/python3 benchmarks/generate/torch_loops.py --export DIR    (ONNX step models for ort_loops.mjs,
                                                                         parameters for libtorch/loops.cpp)

Prints one row per case, named as bench_generate's: <Kind>/torch/<model>/threads:N, the
median milliseconds per request and tokens per second."""
import argparse
import json
import math
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
from reference.decoder_blocks import GPT2  # noqa: E402

PROMPT, NEW, VOCAB = 64, 128, 8000


class CachedGPT2(nn.Module):
    """GPT2's forward for new tokens given the past keys/values of every layer."""

    def __init__(self, model):
        super().__init__()
        self.m = model

    def forward(self, tokens, start, past):
        m = self.m
        B, T = tokens.shape
        x = m.wte(tokens) + m.wpe(torch.arange(start, start + T))
        present = []
        for i, block in enumerate(m.h):
            D = x.shape[-1]
            H = block.attn.heads
            q, k, v = block.attn.c_attn(block.ln_1(x)).split(D, dim=2)
            q, k, v = (t.view(B, T, H, D // H).transpose(1, 2) for t in (q, k, v))
            if past is not None:
                k = torch.cat((past[i][0], k), dim=2)
                v = torch.cat((past[i][1], v), dim=2)
            present.append((k, v))
            s = q @ k.transpose(-2, -1) / math.sqrt(D // H)
            s = s + torch.triu(torch.full((T, k.shape[2]), float("-inf")), k.shape[2] - T + 1)
            a = torch.softmax(s, dim=-1) @ v
            x = x + block.attn.c_proj(a.transpose(1, 2).reshape(B, T, D))
            x = x + block.mlp(block.ln_2(x))
        return F.linear(m.ln_f(x[:, -1]), m.wte.weight), present

    @staticmethod
    def reorder(past, index):
        return [(k.index_select(0, index), v.index_select(0, index)) for k, v in past]

    def start(self, tokens):
        logits, past = self(tokens, 0, None)
        return logits, (past, tokens.shape[1])

    def step(self, tokens, state):
        past, n = state
        logits, past = self(tokens, n, past)
        return logits, (past, n + tokens.shape[1])

    def reorder_state(self, state, index):
        return self.reorder(state[0], index), state[1]


class LstmDecoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(VOCAB, 256)
        self.lstm = nn.LSTM(256, 256, 2, batch_first=True)
        self.head = nn.Linear(256, VOCAB)

    def start(self, tokens):
        y, hc = self.lstm(self.embedding(tokens))
        return self.head(y[:, -1]), hc

    def step(self, tokens, state):
        y, hc = self.lstm(self.embedding(tokens), state)
        return self.head(y[:, -1]), hc

    def reorder_state(self, state, index):
        return tuple(s.index_select(1, index) for s in state)


def greedy(model, prompt):
    logits, state = model.start(prompt)
    out = []
    for i in range(NEW):
        token = logits.argmax(-1, keepdim=True)
        out.append(token)
        if i + 1 < NEW:
            logits, state = model.step(token, state)
    return torch.cat(out, 1)


def beam4(model, prompt, width=4):
    logits, state = model.start(prompt)
    scores = torch.log_softmax(logits, -1)[0]
    best, tokens = scores.topk(width)
    beams = tokens[:, None]
    state = model.reorder_state(state, torch.zeros(width, dtype=torch.long))
    for _ in range(NEW - 1):
        logits, state = model.step(beams[:, -1:], state)
        total = (best[:, None] + torch.log_softmax(logits, -1)).view(-1)
        best, flat = total.topk(width)
        source, token = flat // VOCAB, flat % VOCAB
        beams = torch.cat((beams.index_select(0, source), token[:, None]), 1)
        state = model.reorder_state(state, source)
    return beams[0]


class Gpt2Step(nn.Module):
    """CachedGPT2 with the past as two tensors [layers, B, heads, P, 64], for ONNX."""

    def __init__(self, cached):
        super().__init__()
        self.cached = cached

    def forward(self, tokens, start, past_k, past_v):
        logits, present = self.cached(tokens, start, list(zip(past_k, past_v)))
        return logits, torch.stack([k for k, _ in present]), torch.stack([v for _, v in present])


class LstmStep(nn.Module):
    def __init__(self, decoder):
        super().__init__()
        self.d = decoder

    def forward(self, tokens, h, c):
        logits, (h, c) = self.d.step(tokens, (h, c))
        return logits, h, c


def export_parameters(module, out, name):
    """The state_dict for libtorch/loops.cpp: <name>.params.json lists each tensor's name,
    shape and raw little-endian float32 file."""
    entries = []
    for key, tensor in module.state_dict().items():
        file = f"{name}.{key}.f32"
        tensor.detach().contiguous().float().numpy().tofile(os.path.join(out, file))
        entries.append({"name": key, "shape": list(tensor.shape), "file": file})
    with open(os.path.join(out, f"{name}.params.json"), "w") as f:
        json.dump(entries, f)


def export(models, prompt, out):
    """ONNX step models for ort_loops.mjs (opset 14, batch and lengths dynamic), the
    parameters for the libtorch loops, the prompt and torch's greedy and beam-4 tokens,
    which the ONNX and libtorch loops must reproduce."""
    os.makedirs(out, exist_ok=True)
    export_parameters(models["gpt2_256x4_v8000"].m, out, "gpt2_256x4_v8000")
    export_parameters(models["lstm_256x2_v8000"], out, "lstm_256x2_v8000")
    with open(os.path.join(out, "reference.json"), "w") as f:
        json.dump({"prompt": prompt[0].tolist(), "new_tokens": NEW, "vocab": VOCAB,
                   **{name: {"Greedy": greedy(m, prompt)[0].tolist(), "Beam4": beam4(m, prompt).tolist()}
                      for name, m in models.items()}}, f)
    tokens = torch.randint(0, VOCAB, (2, 3))
    past = torch.zeros(4, 2, 4, 5, 64)
    torch.onnx.export(Gpt2Step(models["gpt2_256x4_v8000"]), (tokens, torch.tensor(5), past, past),
                      os.path.join(out, "gpt2_256x4_v8000.onnx"), opset_version=14,
                      input_names=["tokens", "start", "past_k", "past_v"],
                      output_names=["logits", "present_k", "present_v"],
                      dynamic_axes={"tokens": {0: "B", 1: "T"}, "past_k": {1: "B", 3: "P"},
                                    "past_v": {1: "B", 3: "P"}, "logits": {0: "B"},
                                    "present_k": {1: "B", 3: "Q"}, "present_v": {1: "B", 3: "Q"}})
    h = torch.zeros(2, 2, 256)
    torch.onnx.export(LstmStep(models["lstm_256x2_v8000"]), (tokens, h, h), os.path.join(out, "lstm_256x2_v8000.onnx"),
                      opset_version=14, input_names=["tokens", "h", "c"], output_names=["logits", "h_out", "c_out"],
                      dynamic_axes={"tokens": {0: "B", 1: "T"}, "h": {1: "B"}, "c": {1: "B"}, "logits": {0: "B"},
                                    "h_out": {1: "B"}, "c_out": {1: "B"}})


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--export", metavar="DIR", help="write the ONNX step models for ort_loops.mjs and stop")
    args = parser.parse_args()
    torch.manual_seed(0)
    gpt2 = GPT2(VOCAB, 256, 256, 4, 4).eval()
    models = {"gpt2_256x4_v8000": CachedGPT2(gpt2).eval(), "lstm_256x2_v8000": LstmDecoder().eval()}
    prompt = torch.randint(0, VOCAB, (1, PROMPT))
    if args.export:
        with torch.no_grad():
            export(models, prompt, args.export)
        return
    for threads in (int(t) for t in args.threads.split(",")):
        torch.set_num_threads(threads)
        for kind, run in (("Greedy", greedy), ("Beam4", beam4)):
            for name, model in models.items():
                with torch.inference_mode():
                    assert run(model, prompt).numel() == NEW
                    times = []
                    for _ in range(args.repetitions):
                        t0 = time.perf_counter()
                        run(model, prompt)
                        times.append(time.perf_counter() - t0)
                ms = statistics.median(times) * 1e3
                print(f"{kind}/torch/{name}/threads:{threads}  {ms:9.2f} ms  {NEW / ms * 1e3:9.1f} tokens/s", flush=True)


if __name__ == "__main__":
    main()
