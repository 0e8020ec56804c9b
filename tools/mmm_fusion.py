"""PyTorch reference modules for mmm's compositions and fusions (plain torch.nn code, the
parameter names mmm loads). Each mirrors one mmm type:

    Parallel(branches)            compose/parallel.hpp   one input per branch
    Fork(branches)                compose/fork.hpp       every branch reads the one input
    FusionConcat / FusionSum / FusionProduct             layers/fusion.hpp
    GatedFusion(out, *ins)        layers/gated_fusion.hpp
    SequenceJoin()                layers/sequence_join.hpp (image/audio tokens before text)
    CrossAttentionFusion(dq, dkv, heads)   layers/cross_attention_fusion.hpp
    map_to_seq(x), MapToSeq()     layers/flatten.hpp, MapToSeq

Branch values are tensors; a sequence with padding is a pair (x [N, T, D], lengths [N]).
Feat branches are [N, D] and are repeated over the steps of sequence branches; Map
branches [N, C, H, W] count as sequences of H*W positions (FusionConcat).
"""
import torch
from torch import nn


def map_to_seq(x):
    """[N, C, H, W] -> [N, H*W, C], positions row-major."""
    return x.flatten(2).transpose(1, 2)


def _values(b):
    return b[0] if isinstance(b, tuple) else b


def _lengths(branches):
    for b in branches:
        if isinstance(b, tuple):
            return b[1]
    return None


def _as_rows(branches):
    """Every branch as [N, T, D] (Feat repeated, Map flattened), T the stepping branches' T."""
    xs = [_values(b) for b in branches]
    xs = [map_to_seq(x) if x.dim() == 4 else x for x in xs]
    steps = [x.shape[1] for x in xs if x.dim() == 3]
    if not steps:
        return xs, False
    t = steps[0]
    return [x if x.dim() == 3 else x[:, None, :].expand(x.shape[0], t, x.shape[1]) for x in xs], True


class MapToSeq(nn.Module):
    def forward(self, x):
        return map_to_seq(x)


class Parallel(nn.ModuleList):
    def forward(self, xs):
        return tuple(m(x) for m, x in zip(self, xs))


class Fork(nn.ModuleList):
    def forward(self, x):
        return tuple(m(x) for m in self)


class FusionConcat(nn.Module):
    def forward(self, branches):
        xs, _ = _as_rows(branches)
        return torch.cat(xs, -1)


class FusionSum(nn.Module):
    def forward(self, branches):
        xs, _ = _as_rows(branches)
        y = xs[0]
        for x in xs[1:]:
            y = y + x
        return y


class FusionProduct(nn.Module):
    def forward(self, branches):
        xs, _ = _as_rows(branches)
        y = xs[0]
        for x in xs[1:]:
            y = y * x
        return y


class GatedFusion(nn.Module):
    """Gated multimodal unit (Arevalo et al. 2017): h_k = tanh(proj_k(x_k)); two branches:
    z = sigmoid(gate([x1; x2])), y = z*h1 + (1-z)*h2; more: z_k = sigmoid(gate(...))[k-th
    slice of out], y = sum_k z_k*h_k."""

    def __init__(self, out, *ins):
        super().__init__()
        assert len(ins) >= 2
        self.out = out
        self.proj = nn.ModuleList(nn.Linear(d, out) for d in ins)
        self.gate = nn.Linear(sum(ins), out if len(ins) == 2 else len(ins) * out)

    def forward(self, branches):
        raw = [_values(b) for b in branches]
        hs = [torch.tanh(p(x)) for p, x in zip(self.proj, raw)]
        hs, _ = _as_rows(hs)
        xs, _ = _as_rows(raw)
        z = torch.sigmoid(self.gate(torch.cat(xs, -1)))
        if len(hs) == 2:
            return z * hs[0] + (1 - z) * hs[1]
        zs = z.split(self.out, -1)
        y = zs[0] * hs[0]
        for zk, hk in zip(zs[1:], hs[1:]):
            y = y + zk * hk
        return y


class SequenceJoin(nn.Module):
    """Each item's valid steps of every branch one after another, then zero padding.
    Returns (y [N, sum T_k, D], lengths [N], key_padding_mask [N, sum T_k], True = padding).
    A Feat branch [N, D] is one token."""

    def forward(self, branches):
        parts = []
        for b in branches:
            x = _values(b)
            if x.dim() == 2:
                x = x[:, None, :]
            n, t = x.shape[0], x.shape[1]
            lengths = b[1] if isinstance(b, tuple) else torch.full((n,), t, dtype=torch.long)
            parts.append((x, lengths.long()))
        n, d = parts[0][0].shape[0], parts[0][0].shape[2]
        total = sum(x.shape[1] for x, _ in parts)
        y = parts[0][0].new_zeros(n, total, d)
        lengths = torch.zeros(n, dtype=torch.long)
        for i in range(n):
            at = 0
            for x, l in parts:
                k = int(l[i])
                y[i, at:at + k] = x[i, :k]
                at += k
            lengths[i] = at
        mask = torch.arange(total)[None, :] >= lengths[:, None]
        return y, lengths, mask


class CrossAttentionFusion(nn.Module):
    """norm(x + attn(x, m, m)): queries x [N, T, dq] (or [N, dq]) over a memory m [N, S, dkv]
    (or a map [N, dkv, H, W]), (m, lengths) masking the memory's padding."""

    def __init__(self, dq, dkv, heads):
        super().__init__()
        self.attn = nn.MultiheadAttention(dq, heads, kdim=dkv, vdim=dkv, batch_first=True)
        self.norm = nn.LayerNorm(dq)

    def forward(self, branches):
        x, memory = _values(branches[0]), branches[1]
        mask = None
        if isinstance(memory, tuple):
            memory, lengths = memory
            mask = torch.arange(memory.shape[1])[None, :] >= lengths[:, None]
        if memory.dim() == 4:
            memory = map_to_seq(memory)
        q = x[:, None, :] if x.dim() == 2 else x
        y = self.norm(q + self.attn(q, memory, memory, key_padding_mask=mask, need_weights=False)[0])
        return y[:, 0] if x.dim() == 2 else y
