"""Decoder-only transformers in the two styles users bring, as plain torch.nn modules with the
usual parameter names (nanoGPT's / Hugging Face's): the reference for mmm's GPT2Block, GPT2,
LlamaBlock and Llama (include/mmm/layers/decoder_block.hpp, include/mmm/models/), and the parts
they are made of — rotary embedding (RoPE), grouped-query attention (GQA), SwiGLU.

    GPT-2 style  pre-LayerNorm, causal attention with one fused c_attn, GELU (tanh) MLP, learned
                 positions, logits through the token embedding (tied input/output embedding)
    LLaMA style  RMSNorm, causal grouped-query attention with RoPE (Hugging Face's rotate_half
                 convention) and no biases, SwiGLU MLP, untied lm_head

Every forward takes an optional key_padding_mask [B, T] (True: padding), which masks those keys
for every query as nn.MultiheadAttention does; queries at padded positions still get outputs.
"""
import math

import torch
import torch.nn.functional as F
from torch import nn


def attention(q, k, v, causal=True, key_padding_mask=None):
    """softmax(q·kᵀ/√d + mask)·v over [B, H, T, d] (k, v: [B, H, S, d])."""
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    T, S = scores.shape[-2:]
    if causal:
        allowed = torch.ones(T, S, dtype=torch.bool).tril(S - T)
        scores = scores.masked_fill(~allowed, float("-inf"))
    if key_padding_mask is not None:
        scores = scores.masked_fill(key_padding_mask[:, None, None, :], float("-inf"))
    return torch.softmax(scores, dim=-1) @ v


class RMSNorm(nn.Module):
    """x / sqrt(mean(x²) + eps) · weight (LLaMA's)."""

    def __init__(self, dim, eps=1e-6):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


class RotaryEmbedding(nn.Module):
    """cos/sin of position·θ_i, θ_i = theta^(−2i/d), as Hugging Face's LlamaRotaryEmbedding
    (inv_freq a float32 buffer, not saved in the state_dict)."""

    def __init__(self, head_dim, theta=10000.0):
        super().__init__()
        inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2).float() / head_dim))
        self.register_buffer("inv_freq", inv_freq, persistent=False)

    def forward(self, positions, dtype):
        freqs = torch.outer(positions.to(dtype), self.inv_freq.to(dtype))
        emb = torch.cat((freqs, freqs), dim=-1)
        return emb.cos(), emb.sin()


def rotate_half(x):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


def apply_rotary(x, cos, sin):
    """x [B, H, T, d] rotated by cos/sin [T, d] (pairs i, i + d/2)."""
    return x * cos + rotate_half(x) * sin


def apply_rotary_interleaved(x, cos, sin):
    """The same with pairs (2i, 2i + 1), Meta's original and GPT-J's convention."""
    half = x.shape[-1] // 2
    c, s = cos[..., :half], sin[..., :half]
    a, b = x[..., 0::2], x[..., 1::2]
    return torch.stack((a * c - b * s, b * c + a * s), dim=-1).flatten(-2)


class GPT2Attention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.c_attn = nn.Linear(dim, 3 * dim)
        self.c_proj = nn.Linear(dim, dim)

    def forward(self, x, key_padding_mask=None):
        B, T, D = x.shape
        q, k, v = self.c_attn(x).split(D, dim=2)
        q, k, v = (t.view(B, T, self.heads, D // self.heads).transpose(1, 2) for t in (q, k, v))
        y = attention(q, k, v, True, key_padding_mask)
        return self.c_proj(y.transpose(1, 2).reshape(B, T, D))


class GPT2MLP(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.c_fc = nn.Linear(dim, hidden)
        self.c_proj = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.c_proj(F.gelu(self.c_fc(x), approximate="tanh"))


class GPT2Block(nn.Module):
    def __init__(self, dim, heads, eps=1e-5):
        super().__init__()
        self.ln_1 = nn.LayerNorm(dim, eps=eps)
        self.attn = GPT2Attention(dim, heads)
        self.ln_2 = nn.LayerNorm(dim, eps=eps)
        self.mlp = GPT2MLP(dim, 4 * dim)

    def forward(self, x, key_padding_mask=None):
        x = x + self.attn(self.ln_1(x), key_padding_mask)
        return x + self.mlp(self.ln_2(x))


class GPT2(nn.Module):
    def __init__(self, vocab, positions, dim, heads, layers, eps=1e-5):
        super().__init__()
        self.wte = nn.Embedding(vocab, dim)
        self.wpe = nn.Embedding(positions, dim)
        self.h = nn.ModuleList(GPT2Block(dim, heads, eps) for _ in range(layers))
        self.ln_f = nn.LayerNorm(dim, eps=eps)

    def forward(self, tokens, key_padding_mask=None):
        positions = torch.arange(tokens.shape[1])
        x = self.wte(tokens) + self.wpe(positions)
        for block in self.h:
            x = block(x, key_padding_mask)
        return F.linear(self.ln_f(x), self.wte.weight)  # tied: the token embedding is the head


class LlamaAttention(nn.Module):
    """Grouped-query attention (kv_heads ≤ heads; query head h reads key/value head
    h // (heads / kv_heads)) with an optional rotary embedding, Hugging Face's names."""

    def __init__(self, dim, heads, kv_heads, theta=10000.0, bias=False, causal=True, interleaved=False):
        super().__init__()
        self.heads, self.kv_heads, self.head_dim = heads, kv_heads, dim // heads
        self.causal, self.interleaved = causal, interleaved
        self.q_proj = nn.Linear(dim, dim, bias=bias)
        self.k_proj = nn.Linear(dim, kv_heads * self.head_dim, bias=bias)
        self.v_proj = nn.Linear(dim, kv_heads * self.head_dim, bias=bias)
        self.o_proj = nn.Linear(dim, dim, bias=bias)
        self.rotary = RotaryEmbedding(self.head_dim, theta) if theta else None

    def forward(self, x, key_padding_mask=None):
        B, T, D = x.shape
        q = self.q_proj(x).view(B, T, self.heads, self.head_dim).transpose(1, 2)
        k = self.k_proj(x).view(B, T, self.kv_heads, self.head_dim).transpose(1, 2)
        v = self.v_proj(x).view(B, T, self.kv_heads, self.head_dim).transpose(1, 2)
        if self.rotary is not None:
            cos, sin = self.rotary(torch.arange(T), x.dtype)
            rotate = apply_rotary_interleaved if self.interleaved else apply_rotary
            q, k = rotate(q, cos, sin), rotate(k, cos, sin)
        group = self.heads // self.kv_heads
        k, v = k.repeat_interleave(group, dim=1), v.repeat_interleave(group, dim=1)
        y = attention(q, k, v, self.causal, key_padding_mask)
        return self.o_proj(y.transpose(1, 2).reshape(B, T, D))


class LlamaMLP(nn.Module):
    """SwiGLU: down(silu(gate(x)) · up(x))."""

    def __init__(self, dim, hidden, bias=False):
        super().__init__()
        self.gate_proj = nn.Linear(dim, hidden, bias=bias)
        self.up_proj = nn.Linear(dim, hidden, bias=bias)
        self.down_proj = nn.Linear(hidden, dim, bias=bias)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class LlamaBlock(nn.Module):
    def __init__(self, dim, heads, kv_heads, hidden, eps=1e-6, theta=10000.0):
        super().__init__()
        self.input_layernorm = RMSNorm(dim, eps)
        self.self_attn = LlamaAttention(dim, heads, kv_heads, theta)
        self.post_attention_layernorm = RMSNorm(dim, eps)
        self.mlp = LlamaMLP(dim, hidden)

    def forward(self, x, key_padding_mask=None):
        x = x + self.self_attn(self.input_layernorm(x), key_padding_mask)
        return x + self.mlp(self.post_attention_layernorm(x))


class Llama(nn.Module):
    def __init__(self, vocab, dim, heads, kv_heads, hidden, layers, eps=1e-6, theta=10000.0):
        super().__init__()
        self.embed_tokens = nn.Embedding(vocab, dim)
        self.layers = nn.ModuleList(LlamaBlock(dim, heads, kv_heads, hidden, eps, theta) for _ in range(layers))
        self.norm = RMSNorm(dim, eps)
        self.lm_head = nn.Linear(dim, vocab, bias=False)

    def forward(self, tokens, key_padding_mask=None):
        x = self.embed_tokens(tokens)
        for layer in self.layers:
            x = layer(x, key_padding_mask)
        return self.lm_head(self.norm(x))
