"""Oracle for tests/generate/parity.cpp, recurrent.cpp and transformer.cpp: greedy decoding, beam search and
sampling by the reference procedures of tools/mmm_generate.py over torch decoders (ElmanDecoder,
the network of tests/generate/decoders.hpp; tools/mmm_decoders.py's LstmDecoder and an LSTM
captioner, which RecurrentDecoder loads; a GPT-2 (tools/reference) and a transformer
captioner with cross-attention to CNN patches, decoded by recomputing every prefix, which
the KV-cached C++ decoders must agree with), and CTC greedy / prefix beam search over random
log-probabilities. Weights, prompts and seeds are fresh each run; sampled text is recorded
from the Python generator and sampler, for the C++ side to reproduce token for token.

A case whose reference came within 1e-4 of another decision (two logits or scores, a draw
and a boundary; 1e-9 for CTC, whose inputs both sides read bit for bit) is drawn again, weights
included: the C++ logits differ from torch's in the last bits, which must not decide a test, and
some weights hold a near-tie whatever the inputs (a decoder settling into the same two
continuations), so new inputs alone may never clear it."""
import numpy as np
import torch
from torch import nn

import mmm_decoders as D
import mmm_fusion as FU
from reference.decoder_blocks import GPT2
import mmm_generate as G
from mmm_oracle import Oracle

VOCAB, EMBED, HIDDEN, EOS = 37, 11, 23, 1
LETTERS = "abcdefghijklmnopqrstuvwxyz"
FINISH = {"eos": 0, "stop_string": 1, "max_length": 2}


def token_text(i):
    """The text of token i in the stop-string cases (tests/generate/parity.cpp has the same)."""
    return LETTERS[i % 26] + (LETTERS[(7 * i + 3) % 26] if i % 3 == 0 else "")


class ElmanDecoder(nn.Module):
    """h_t = tanh(input(embedding(x_t)) + recurrent(h_{t-1})), logits = output(h_t), with the
    step-decoder protocol of tools/mmm_generate.py."""

    def __init__(self, vocab, embed, hidden):
        super().__init__()
        self.vocab_size, self.hidden = vocab, hidden
        self.embedding = nn.Embedding(vocab, embed)
        self.input = nn.Linear(embed, hidden)
        self.recurrent = nn.Linear(hidden, hidden, bias=False)
        self.output = nn.Linear(hidden, vocab)

    def make_state(self, rows):
        return torch.zeros(rows, self.hidden)

    def step(self, new_tokens, state):
        h = state.clone()
        for r, tokens in enumerate(new_tokens):
            for t in tokens:
                h[r] = torch.tanh(self.input(self.embedding(torch.tensor(t))) + self.recurrent(h[r]))
        return self.output(h).numpy().astype(np.float32), h

    def reorder(self, state, sources):
        return state[torch.tensor(sources)]


def pack(results, per_item):
    """Hypotheses as tensors: tokens [items, per_item, stride] (-1 past the end), lengths,
    scores, finish codes [items, per_item], counts [items]."""
    items = len(results)
    stride = max([len(h["tokens"]) for r in results for h in r] + [1])
    tokens = torch.full((items, per_item, stride), -1, dtype=torch.int32)
    lengths = torch.zeros(items, per_item, dtype=torch.int32)
    scores = torch.zeros(items, per_item, dtype=torch.float32)
    finish = torch.zeros(items, per_item, dtype=torch.int32)
    counts = torch.tensor([len(r) for r in results], dtype=torch.int32)
    for b, r in enumerate(results):
        for k, h in enumerate(r):
            tokens[b, k, :len(h["tokens"])] = torch.tensor(h["tokens"], dtype=torch.int32)
            lengths[b, k], scores[b, k], finish[b, k] = len(h["tokens"]), h["score"], FINISH[h["finish"]]
    return {"tokens": tokens, "lengths": lengths, "scores": scores, "finish": finish, "counts": counts}


def prompts_tensor(prompts):
    t = max(len(p) for p in prompts)
    ids = torch.zeros(len(prompts), t, dtype=torch.int32)
    for r, p in enumerate(prompts):
        ids[r, :len(p)] = torch.tensor(p, dtype=torch.int32)
        ids[r, len(p):] = torch.randint(0, VOCAB, (t - len(p),), generator=g)  # padding: any ids
    return {"ids": ids, "lengths": torch.tensor([len(p) for p in prompts], dtype=torch.int32)}


def draw_prompts(rows, longest, vocab=VOCAB):
    lengths = torch.randint(1, longest + 1, (rows,), generator=g).tolist()
    # Prompts avoid EOS, which would make them look finished to a reader.
    return [[int(x) for x in torch.randint(2, vocab, (n,), generator=g)] for n in lengths]


def robust(run, attempts=50, bound=1e-4):
    """Runs run(attempt) -> (result, margins) until no decision came within `bound`."""
    for attempt in range(attempts):
        result, margins = run(attempt)
        if not margins or min(margins) >= bound:
            return result
    raise RuntimeError(f"no case without a near-tie in {attempts} attempts")


def decode(decoder, state_for, prompts, meta, seed=None, margins=None):
    """Greedy, beam search or sampling as meta["kind"] says; state_for(rows) makes the state."""
    if meta["kind"] == "greedy":
        return G.greedy(decoder, state_for(len(prompts)), prompts, meta["max_length"], EOS, margins=margins)
    if meta["kind"] == "beam":
        return G.beam_search(decoder, state_for(len(prompts) * meta["width"]), prompts, meta["max_length"], EOS,
                             meta["width"], meta["length_penalty"], meta["n_best"], margins=margins)
    return G.sample(decoder, state_for(len(prompts)), prompts, meta["max_length"], EOS, meta["temperature"],
                    meta["top_k"], meta["top_p"], seed=seed, margins=margins)


with Oracle("generate.parity") as o, torch.no_grad():
    g = torch.Generator().manual_seed(o.seed)

    def elman():
        model = ElmanDecoder(VOCAB, EMBED, HIDDEN)
        model.output.weight.mul_(4.0)  # peaked enough that EOS and the filters matter
        model.output.bias[EOS] += 0.6
        return model

    def save(case, model, prompts, results, per_item, meta):
        o.save(case, model.state_dict(), inputs=prompts_tensor(prompts), outputs=pack(results, per_item),
               metadata={k: str(v) for k, v in meta.items()})

    # ---- greedy ----
    for case, rows, longest, meta in [
        ("greedy_batch", 3, 6, {"max_length": 16, "eos": EOS, "repetition_penalty": 1.0}),
        ("greedy_penalty", 2, 4, {"max_length": 13, "eos": -1, "repetition_penalty": 1.5}),
    ]:
        def run(_):
            model, prompts, margins = elman(), draw_prompts(rows, longest), []
            out = G.greedy(model, model.make_state(rows), prompts, meta["max_length"], meta["eos"],
                           meta["repetition_penalty"], margins=margins)
            return (model, prompts, out), margins

        model, prompts, out = robust(run)
        save(case, model, prompts, out, 1, meta)

    # Stop strings: one that spans two tokens of row 0's greedy text, and one that never comes.
    def run_stop(_):
        model, prompts, margins = elman(), draw_prompts(2, 3), []
        free = G.greedy(model, model.make_state(2), prompts, 24, margins=margins)
        tokens = free[0][0]["tokens"]
        stop = token_text(tokens[3])[-1] + token_text(tokens[4])[0]
        out = G.greedy(model, model.make_state(2), prompts, 24, stop_strings=[stop, "#"], token_text=token_text)
        return (model, prompts, out, stop), margins

    model, prompts, out, stop = robust(run_stop)
    assert out[0][0]["finish"] == "stop_string" and len(out[0][0]["tokens"]) <= 5
    save("greedy_stop", model, prompts, out, 1, {"max_length": 24, "eos": -1, "stop": stop})

    # ---- beam search ----
    for case, rows, longest, meta in [
        ("beam_w3", 2, 5, {"max_length": 11, "eos": EOS, "width": 3, "length_penalty": 1.0, "n_best": 3}),
        ("beam_w4_short", 1, 3, {"max_length": 9, "eos": EOS, "width": 4, "length_penalty": 0.6, "n_best": 2}),
        ("beam_w2_no_eos", 3, 6, {"max_length": 10, "eos": -1, "width": 2, "length_penalty": 1.5, "n_best": 2}),
        ("beam_w5_long", 2, 4, {"max_length": 18, "eos": EOS, "width": 5, "length_penalty": 1.2, "n_best": 5}),
    ]:
        def run(_):
            model, prompts, margins = elman(), draw_prompts(rows, longest), []
            out = G.beam_search(model, model.make_state(rows * meta["width"]), prompts, meta["max_length"], meta["eos"],
                                meta["width"], meta["length_penalty"], meta["n_best"], margins=margins)
            return (model, prompts, out), margins

        model, prompts, out = robust(run)
        save(case, model, prompts, out, meta["n_best"], meta)

    # ---- sampling: text recorded from the Python generator and sampler ----
    base = int(torch.randint(0, 1 << 30, (1,), generator=g))
    for case, rows, meta in [
        ("sample_plain", 2, {"temperature": 1.0, "top_k": 0, "top_p": 1.0, "repetition_penalty": 1.0}),
        ("sample_top_k", 3, {"temperature": 0.7, "top_k": 5, "top_p": 1.0, "repetition_penalty": 1.0}),
        ("sample_top_p", 2, {"temperature": 1.0, "top_k": 0, "top_p": 0.8, "repetition_penalty": 1.0}),
        ("sample_all", 2, {"temperature": 1.3, "top_k": 12, "top_p": 0.9, "repetition_penalty": 1.2}),
    ]:
        meta = dict(meta, max_length=20, eos=EOS)

        def run(attempt):
            model, prompts, margins = elman(), draw_prompts(rows, 4), []
            seed = base + attempt
            out = G.sample(model, model.make_state(rows), prompts, meta["max_length"], meta["eos"], meta["temperature"],
                           meta["top_k"], meta["top_p"], meta["repetition_penalty"], seed, margins=margins)
            return (model, prompts, seed, out), margins

        model, prompts, seed, out = robust(run)
        save(case, model, prompts, out, 1, dict(meta, seed=seed))

    # ---- CTC over random log-probabilities (blank first, and blank last) ----
    for case, blank in [("ctc_blank_first", 0), ("ctc_blank_last", 6)]:
        def run(_):
            batch, frames = 3, 15
            x = torch.log_softmax(torch.randn(batch, frames, 7, generator=g) * 2.5, -1)
            lengths = torch.randint(1, frames + 1, (batch,), generator=g)
            lengths[int(torch.randint(0, batch, (1,), generator=g))] = frames
            if int(torch.randint(0, 2, (1,), generator=g)):
                lengths[int(torch.randint(0, batch, (1,), generator=g))] = 0
            margins = []
            greedy = [G.ctc_greedy(x[b].numpy(), int(lengths[b]), blank, margins) for b in range(batch)]
            beam = [G.ctc_prefix_beam_search(x[b].numpy(), int(lengths[b]), 5, blank, 3, margins) for b in range(batch)]
            return (x, lengths, greedy, beam), margins

        x, lengths, greedy, beam = robust(run, bound=1e-9)
        o.save(case, inputs={"log_probs": x, "lengths": lengths.int()},
               outputs={**{"greedy_" + k: v for k, v in pack(greedy, 1).items()},
                        **{"beam_" + k: v for k, v in pack(beam, 3).items()}},
               metadata={"blank": blank, "width": 5, "n_best": 3})

    # The reference prefix beam search itself, against torch's CTC loss: with a beam wider than
    # the number of prefixes nothing is pruned, and each score is the exact log P(labelling).
    x = torch.log_softmax(torch.randn(5, 3, generator=g, dtype=torch.float64) * 2, -1)
    for h in G.ctc_prefix_beam_search(x.numpy(), 5, width=400, blank=0, n_best=20):
        target = torch.tensor([h["tokens"]], dtype=torch.long) if h["tokens"] else torch.zeros(1, 0, dtype=torch.long)
        exact = -torch.nn.functional.ctc_loss(x[:, None, :], target, [5], [len(h["tokens"])], blank=0, reduction="sum")
        assert abs(float(exact) - h["score"]) < 1e-9, (h, float(exact))

    # ---- recurrent.cpp: RecurrentDecoder over a 2-layer LSTM, and an LSTM captioner ----
    def two_layer_lstm():
        lstm = D.LstmDecoder(41, 13, 29, layers=2)
        lstm.head.weight.mul_(5.0)
        lstm.head.bias[EOS] += 0.5
        return lstm

    for case, rows, meta in [
        ("lstm_greedy", 3, {"kind": "greedy", "max_length": 15}),
        ("lstm_beam", 2, {"kind": "beam", "max_length": 12, "width": 3, "length_penalty": 1.0, "n_best": 3}),
        ("lstm_sample", 2, {"kind": "sample", "max_length": 16, "temperature": 0.9, "top_k": 8, "top_p": 0.95}),
        # One row: mmm's tokens of a single row take one parallel region each (SharedFrame).
        ("lstm_greedy_row", 1, {"kind": "greedy", "max_length": 15}),
        ("lstm_sample_row", 1, {"kind": "sample", "max_length": 16, "temperature": 0.9, "top_k": 8, "top_p": 0.95}),
    ]:
        meta = dict(meta, eos=EOS)

        def run(attempt):
            lstm, prompts, margins = two_layer_lstm(), draw_prompts(rows, 5, 41), []
            seed = base + attempt
            return (lstm, prompts, seed, decode(lstm, lstm.make_state, prompts, meta, seed, margins)), margins

        lstm, prompts, seed, out = robust(run)
        o.save(case, lstm.state_dict(), inputs=prompts_tensor(prompts), outputs=pack(out, meta.get("n_best", 1)),
               metadata={k: str(v) for k, v in dict(meta, seed=seed).items()})

    # The captioner: Conv2d(3, 8, 3, stride 2, pad 1) + ReLU + global average pool + Linear(8, 13)
    # encodes each image; its features are the LSTM's first input; then decoding from BOS = 0.
    def lstm_captioner():
        encoder = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.ReLU(),
                                nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten()), nn.Linear(8, 13))
        captioner = D.Captioner(encoder, D.LstmDecoder(37, 13, 31))
        captioner.decoder.head.weight.mul_(5.0)
        encoder[3].weight.mul_(4.0)  # images that make a difference to the captions
        return captioner

    for case, meta in [("caption_greedy", {"kind": "greedy", "max_length": 14, "width": 1, "n_best": 1}),
                       ("caption_beam", {"kind": "beam", "max_length": 14, "width": 4, "n_best": 2,
                                         "length_penalty": 1.3})]:
        def run(_):
            captioner, images, margins = lstm_captioner(), torch.randn(2, 3, 11, 9, generator=g), []
            features = captioner.encoder(images)
            dec = captioner.decoder
            out = decode(dec, lambda rows: dec.condition(dec.make_state(rows), features), [[0], [0]], meta,
                         margins=margins)
            return (captioner, images, out), margins

        captioner, images, out = robust(run)
        o.save(case, captioner.state_dict(), inputs={"image": images}, outputs=pack(out, meta["n_best"]),
               metadata={k: str(v) for k, v in dict(meta, eos=EOS).items()})

    # ---- transformer.cpp: GPT2<vocab 53, positions 64, dim 48, heads 4, layers 2> ----
    def small_gpt2():
        gpt2 = GPT2(53, 64, 48, 4, 2)
        gpt2.wte.weight.mul_(4.0)  # peaked logits (tied head)
        return gpt2

    for case, rows, meta in [
        ("gpt2_greedy", 3, {"kind": "greedy", "max_length": 14}),
        ("gpt2_beam", 2, {"kind": "beam", "max_length": 11, "width": 4, "length_penalty": 1.0, "n_best": 3}),
        ("gpt2_sample", 2, {"kind": "sample", "max_length": 14, "temperature": 0.8, "top_k": 10, "top_p": 0.9}),
    ]:
        meta = dict(meta, eos=EOS)

        def run(attempt):
            gpt2, prompts, margins = small_gpt2(), draw_prompts(rows, 6, 53), []
            lm = D.Recomputing(53, lambda prefix, _: gpt2(torch.tensor([prefix]))[0, -1])
            seed = base + attempt
            return (gpt2, prompts, seed, decode(lm, lm.make_state, prompts, meta, seed, margins)), margins

        gpt2, prompts, seed, out = robust(run)
        o.save(case, gpt2.state_dict(), inputs=prompts_tensor(prompts), outputs=pack(out, meta.get("n_best", 1)),
               metadata={k: str(v) for k, v in dict(meta, seed=seed).items()})

    # A transformer captioner: Conv2d(3, 16, 3, stride 2, pad 1) + ReLU, the map's positions as
    # tokens, Linear(16, 32): the memory; then TransformerCaptioner(37, 32, dim 32, heads 4,
    # ff 64, 2 pre-norm layers) from BOS = 0 with cross-attention to it.
    def transformer_captioner():
        patches = nn.Sequential(nn.Conv2d(3, 16, 3, stride=2, padding=1), nn.ReLU(), FU.MapToSeq(),
                                nn.Linear(16, 32))
        captioner = D.TransformerCaptioner(37, 32, 32, 4, 64, 2)
        captioner.head.weight.mul_(4.0)
        return nn.ModuleDict({"encoder": patches, "decoder": captioner})

    for case, meta in [("tcaption_greedy", {"kind": "greedy", "max_length": 12, "width": 1, "n_best": 1}),
                       ("tcaption_beam", {"kind": "beam", "max_length": 12, "width": 3, "n_best": 3,
                                          "length_penalty": 1.0})]:
        def run(_):
            model, images, margins = transformer_captioner(), torch.randn(2, 3, 9, 11, generator=g), []
            captioner, memory = model["decoder"], model["encoder"](images)
            cap = D.Recomputing(37, lambda prefix, memory: captioner(torch.tensor([prefix]), memory[None])[0, -1])
            out = decode(cap, lambda rows: cap.condition(cap.make_state(rows), memory), [[0], [0]], meta,
                         margins=margins)
            return (model, images, out), margins

        model, images, out = robust(run)
        o.save(case, model.state_dict(), inputs={"image": images}, outputs=pack(out, meta["n_best"]),
               metadata={k: str(v) for k, v in dict(meta, eos=EOS).items()})
