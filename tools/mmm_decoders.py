"""PyTorch reference decoders for mmm's generate/ adapters (plain torch.nn code, the parameter
names mmm loads), each with the step-decoder protocol of tools/mmm_generate.py:

    LstmDecoder(vocab, embed, hidden, layers)   generate/recurrent_decoder.hpp, RecurrentDecoder
                                                over LSTM<embed, hidden, Rnn{.layers}>
    Captioner(encoder, decoder)                 an image encoder whose features are the LSTM's
                                                first input (Show and Tell), then the decoder
    TransformerCaptioner(...)                   generate/transformer_decoder.hpp, CrossAttentionDecoder
    Recomputing(vocab, logits_of)               the protocol over any full forward: every step
                                                runs the whole prefix again (no cache: the
                                                reference a KV cache must agree with)
"""
import numpy as np
import torch
from torch import nn


class LstmDecoder(nn.Module):
    def __init__(self, vocab, embed, hidden, layers=1):
        super().__init__()
        self.vocab_size = vocab
        self.embedding = nn.Embedding(vocab, embed)
        self.rnn = nn.LSTM(embed, hidden, layers, batch_first=True)
        self.head = nn.Linear(hidden, vocab)

    def make_state(self, rows):
        shape = (self.rnn.num_layers, rows, self.rnn.hidden_size)
        return torch.zeros(shape), torch.zeros(shape)

    def _run(self, r, x, state):
        h, c = state
        out, (hr, cr) = self.rnn(x[None], (h[:, r:r + 1].contiguous(), c[:, r:r + 1].contiguous()))
        h, c = h.clone(), c.clone()
        h[:, r:r + 1], c[:, r:r + 1] = hr, cr
        return out[0, -1], (h, c)

    def step(self, new_tokens, state):
        last = []
        for r, tokens in enumerate(new_tokens):
            out, state = self._run(r, self.embedding(torch.tensor(tokens)), state)
            last.append(out)
        return self.head(torch.stack(last)).numpy().astype(np.float32), state

    def reorder(self, state, sources):
        idx = torch.tensor(sources)
        return state[0][:, idx], state[1][:, idx]

    def condition(self, state, features):
        """features [items, embed]: item i is the first input of rows i*k .. i*k+k-1."""
        k = state[0].shape[1] // features.shape[0]
        for r in range(state[0].shape[1]):
            _, state = self._run(r, features[r // k][None], state)
        return state


class Captioner(nn.Module):
    def __init__(self, encoder, decoder):
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder


class MemoryDecoder:
    """A transformer decoder over a memory (an encoder-decoder captioner: model.logits(memory,
    tokens) gives every position's logits, each seeing those before it), with the step-decoder
    protocol: the state is each row's memory and its tokens so far, and a step runs the whole
    prefix again — the plain computation the KV cache of mmm's step has to reproduce."""

    def __init__(self, model, vocab_size):
        self.model = model
        self.vocab_size = vocab_size

    def make_state(self, memory, per_item):
        """memory [items, S, D]: item i is the memory of rows i*per_item .. i*per_item+per_item-1."""
        return memory.repeat_interleave(per_item, 0), [[] for _ in range(memory.shape[0] * per_item)]

    def step(self, new_tokens, state):
        memory, rows = state
        rows = [r + list(t) for r, t in zip(rows, new_tokens)]
        with torch.no_grad():
            if len({len(r) for r in rows}) == 1:
                logits = self.model.logits(memory, torch.tensor(rows))[:, -1]
            else:
                logits = torch.cat([self.model.logits(memory[i:i + 1], torch.tensor([r]))[:, -1] for i, r in enumerate(rows)])
        return logits.numpy().astype(np.float32), (memory, rows)

    def reorder(self, state, sources):
        memory, rows = state
        return memory[torch.tensor(sources)], [list(rows[s]) for s in sources]


class TransformerCaptioner(nn.Module):
    """Token embedding + learned positions, nn.TransformerDecoder over a memory, a head."""

    def __init__(self, vocab, max_len, dim, heads, ff, layers, norm_first=True):
        super().__init__()
        self.embedding = nn.Embedding(vocab, dim)
        self.positions = nn.Embedding(max_len, dim)
        layer = nn.TransformerDecoderLayer(dim, heads, ff, dropout=0.0, batch_first=True, norm_first=norm_first)
        self.decoder = nn.TransformerDecoder(layer, layers, norm=nn.LayerNorm(dim))
        self.head = nn.Linear(dim, vocab)

    def forward(self, tokens, memory):
        t = tokens.shape[1]
        x = self.embedding(tokens) + self.positions(torch.arange(t))
        causal = torch.triu(torch.full((t, t), float("-inf")), 1)
        return self.head(self.decoder(x, memory, tgt_mask=causal))


class Recomputing:
    def __init__(self, vocab, logits_of):
        """logits_of(prefix: list of ids, memory or None) -> logits [V] of the last position."""
        self.vocab_size = vocab
        self.logits_of = logits_of

    def make_state(self, rows):
        return {"prefix": [[] for _ in range(rows)], "memory": [None] * rows}

    def condition(self, state, memory):
        """memory [items, S, D]: item i for rows i*k .. i*k+k-1."""
        rows = len(state["prefix"])
        k = rows // memory.shape[0]
        state["memory"] = [memory[r // k] for r in range(rows)]
        return state

    def step(self, new_tokens, state):
        state = {"prefix": [p + list(t) for p, t in zip(state["prefix"], new_tokens)], "memory": state["memory"]}
        logits = torch.stack([self.logits_of(p, m) for p, m in zip(state["prefix"], state["memory"])])
        return logits.numpy().astype(np.float32), state

    def reorder(self, state, sources):
        return {"prefix": [list(state["prefix"][s]) for s in sources], "memory": [state["memory"][s] for s in sources]}
