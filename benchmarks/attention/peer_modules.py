"""The attention benchmarks' work as torch modules, for the ONNX Runtime and libtorch peers
(benchmarks/peers/onnx/export_workloads.py picks up the nn.Module classes of every area's
peer_modules.py). Each is written out with the functional ops, so that torch's fused inference
fast paths (which have no ONNX export) never stand in for them.

    SelfAttention(D, H)              nn.MultiheadAttention(D, H, batch_first=True)(x, x, x)[0]
    EncoderLayer(D, H, FF)           nn.TransformerEncoderLayer(D, H, FF, batch_first=True), eval
    DecoderPrefix(D, H, L)           L GPT-2 blocks + final LayerNorm over a whole prefix, causal:
                                     what a loop without a cache recomputes for each new token;
                                     gives the last position
    DecoderStep(D, H, L)             the same for one new token, given the keys and values of
                                     the prefix (past_k, past_v [L, 1, H, T, D/H]); gives the
                                     token's output and the keys/values with it appended
"""
import math
import os
import sys

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
from reference.decoder_blocks import GPT2Block  # noqa: E402


class SelfAttention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)

    def forward(self, x):
        a = self.attn
        t = x.transpose(0, 1)
        y, _ = F.multi_head_attention_forward(t, t, t, a.embed_dim, a.num_heads, a.in_proj_weight, a.in_proj_bias,
                                              None, None, False, 0.0, a.out_proj.weight, a.out_proj.bias,
                                              training=False, need_weights=False)
        return y.transpose(0, 1)


class EncoderLayer(nn.Module):
    """Post-norm, ReLU: torch's default TransformerEncoderLayer."""

    def __init__(self, dim, heads, ff):
        super().__init__()
        self.self_attn = SelfAttention(dim, heads)
        self.linear1 = nn.Linear(dim, ff)
        self.linear2 = nn.Linear(ff, dim)
        self.norm1 = nn.LayerNorm(dim)
        self.norm2 = nn.LayerNorm(dim)

    def forward(self, x):
        x = self.norm1(x + self.self_attn(x))
        return self.norm2(x + self.linear2(F.relu(self.linear1(x))))


class DecoderPrefix(nn.Module):
    def __init__(self, dim, heads, layers):
        super().__init__()
        self.h = nn.ModuleList(GPT2Block(dim, heads) for _ in range(layers))
        self.ln_f = nn.LayerNorm(dim)

    def forward(self, x):
        for block in self.h:
            x = block(x)
        return self.ln_f(x[:, -1:])


class DecoderStep(nn.Module):
    def __init__(self, dim, heads, layers):
        super().__init__()
        self.heads = heads
        self.h = nn.ModuleList(GPT2Block(dim, heads) for _ in range(layers))
        self.ln_f = nn.LayerNorm(dim)

    def forward(self, x, past_k, past_v):
        B, T, D = x.shape
        presents_k, presents_v = [], []
        for i, block in enumerate(self.h):
            q, k, v = block.attn.c_attn(block.ln_1(x)).split(D, dim=2)
            q, k, v = (t.view(B, T, self.heads, D // self.heads).transpose(1, 2) for t in (q, k, v))
            k = torch.cat((past_k[i], k), dim=2)
            v = torch.cat((past_v[i], v), dim=2)
            presents_k.append(k)
            presents_v.append(v)
            a = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(D // self.heads), dim=-1) @ v
            x = x + block.attn.c_proj(a.transpose(1, 2).reshape(B, T, D))
            x = x + block.mlp(block.ln_2(x))
        return self.ln_f(x), torch.stack(presents_k), torch.stack(presents_v)
