"""PyTorch reference decoders for mmm's generate/ adapters (plain torch.nn code, the parameter
names mmm loads), each with the step-decoder protocol of tools/mmm_generate.py:

    LstmDecoder(vocab, embed, hidden, layers)   generate/recurrent_decoder.hpp, RecurrentDecoder
                                                over LSTM<embed, hidden, Rnn{.layers}>
    Captioner(encoder, decoder)                 an image encoder whose features are the LSTM's
                                                first input (Show and Tell), then the decoder
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
