"""Oracle for tests/attention/attention.cpp: nn.MultiheadAttention (batch_first) over odd sizes
(D = 72, 6 heads, T = 37 queries, S = 53 keys, batch 3) with every mask kind — key padding
(boolean, additive, from lengths), attn_mask boolean/additive in 2-D and 3-D, causal — the
attention weights (averaged and per head), cross-attention, kdim/vdim, no bias; grouped-query
attention and RoPE from tools/reference (LLaMA's attention); sequences long enough for several
query blocks and key pages.

Outputs are the same modules run in float64 with autograd on (which keeps torch on its
reference path, not the fused fast path), from the float32 weights and inputs."""
import torch
from torch import nn

from mmm_oracle import Oracle
from reference.decoder_blocks import LlamaAttention

D, H, T, S, N = 72, 6, 37, 53, 3

with Oracle("attention.parity") as o:
    g = torch.Generator().manual_seed(o.seed)

    def randomize(m):
        # Weights N(0, 1/fan_in): features of order 1, scores of order 1, outputs of order 1;
        # biases N(0, 0.2²). (Sharper scores amplify float32 rounding: at 1.5/√fan_in torch's
        # own float32 MultiheadAttention is 4e-5 from float64 by parity.hpp's measure, and a
        # stack of two post-norm decoder layers over 1e-4.)
        with torch.no_grad():
            for p in m.parameters():
                scale = 1.0 / p.shape[-1] ** 0.5 if p.dim() > 1 else 0.2
                p.copy_(torch.randn(p.shape, generator=g) * scale)
        return m

    def rand(*shape):
        return torch.randn(*shape, generator=g)

    def lengths_of(n, most):
        lengths = torch.randint(1, most + 1, (n,), generator=g)
        lengths[0] = most  # one full item
        return lengths.to(torch.int32)

    def padding(lengths, most):
        return torch.arange(most)[None, :] >= lengths[:, None].long()

    def bool_mask(*shape):
        m = torch.rand(*shape, generator=g) < 0.3
        m[..., 0] = False  # every query keeps a key, except where a case says otherwise
        return m

    def run(m, q, k, v, **kw):
        m = m.double()
        y, w = m(q.double(), k.double(), v.double(), **kw)
        return y.detach().float(), (w.detach().float() if w is not None else None)

    def mha(**kw):
        return randomize(nn.MultiheadAttention(D, H, batch_first=True, **kw))

    def save(case, m, inputs, y, w=None, state=None):
        outputs = {"y": y}
        if w is not None:
            outputs["w"] = w
        o.save(case, state if state is not None else m.state_dict(), inputs=inputs, outputs=outputs)

    x = rand(N, T, D)
    m = mha()
    save("self", m, {"x": x}, run(m, x, x, x, need_weights=False)[0])

    lengths = lengths_of(N, T)
    m = mha()
    save("self_lengths", m, {"x": x, "lengths": lengths},
         run(m, x, x, x, key_padding_mask=padding(lengths, T), need_weights=False)[0])

    kpm = bool_mask(N, T)
    m = mha()
    save("self_kpm_bool", m, {"x": x, "kpm": kpm}, run(m, x, x, x, key_padding_mask=kpm, need_weights=False)[0])

    kpm_add = rand(N, T)
    m = mha()
    save("self_kpm_float", m, {"x": x, "kpm": kpm_add}, run(m, x, x, x, key_padding_mask=kpm_add, need_weights=False)[0])

    am = bool_mask(T, T)
    am[5, :] = True  # a query that sees no key: NaN in torch
    m = mha()
    save("self_mask_bool_2d", m, {"x": x, "mask": am}, run(m, x, x, x, attn_mask=am, need_weights=False)[0])

    am3 = rand(N * H, T, T)
    m = mha()
    save("self_mask_float_3d", m, {"x": x, "mask": am3}, run(m, x, x, x, attn_mask=am3, need_weights=False)[0])

    am3b = bool_mask(N * H, T, T)
    m = mha()
    save("self_mask_bool_3d_kpm", m, {"x": x, "mask": am3b, "kpm": kpm},
         run(m, x, x, x, attn_mask=am3b, key_padding_mask=kpm, need_weights=False)[0])

    causal = torch.ones(T, T, dtype=torch.bool).triu(1)
    m = mha()
    save("self_causal_lengths", m, {"x": x, "lengths": lengths},
         run(m, x, x, x, attn_mask=causal, key_padding_mask=padding(lengths, T), need_weights=False)[0])

    am2f = rand(T, T)
    m = mha()
    y, w = run(m, x, x, x, attn_mask=am2f, key_padding_mask=padding(lengths, T), need_weights=True)
    save("self_weights_averaged", m, {"x": x, "mask": am2f, "lengths": lengths}, y, w)

    m = mha()
    y, w = run(m, x, x, x, attn_mask=am, need_weights=True, average_attn_weights=False)
    save("self_weights_per_head", m, {"x": x, "mask": am}, y, w)

    mem = rand(N, S, D)
    mem_lengths = lengths_of(N, S)
    m = mha()
    save("cross", m, {"q": x, "memory": mem, "lengths": mem_lengths},
         run(m, x, mem, mem, key_padding_mask=padding(mem_lengths, S), need_weights=False)[0])

    key, value = rand(N, S, D), rand(N, S, D)
    amc, kpmc = bool_mask(T, S), bool_mask(N, S)
    m = mha()
    y, w = run(m, x, key, value, attn_mask=amc, key_padding_mask=kpmc, need_weights=True)
    save("cross_key_value", m, {"q": x, "k": key, "v": value, "mask": amc, "kpm": kpmc}, y, w)

    key, value = rand(N, S, 40), rand(N, S, 24)
    m = mha(kdim=40, vdim=24)
    save("cross_kdim_vdim", m, {"q": x, "k": key, "v": value, "lengths": mem_lengths},
         run(m, x, key, value, key_padding_mask=padding(mem_lengths, S), need_weights=False)[0])

    m = mha(bias=False)
    save("self_no_bias", m, {"x": x}, run(m, x, x, x, need_weights=False)[0])

    # Long enough for several query blocks and key pages (the kernel's tiles), causal and padded.
    TL = 301
    xl = rand(2, TL, D)
    ll = torch.tensor([TL, 170], dtype=torch.int32)
    causal_l = torch.ones(TL, TL, dtype=torch.bool).triu(1)
    m = mha()
    save("self_long_causal", m, {"x": xl, "lengths": ll},
         run(m, xl, xl, xl, attn_mask=causal_l, key_padding_mask=padding(ll, TL), need_weights=False)[0])

    # LLaMA's attention: grouped-query (2 key/value heads for 6), rotary, causal, no bias.
    for case, kw in {"gqa": dict(theta=0), "gqa_rope": dict(theta=10000.0),
                     "gqa_rope_interleaved": dict(theta=500.0, interleaved=True),
                     "gqa_bias_not_causal": dict(theta=0, bias=True, causal=False)}.items():
        a = randomize(LlamaAttention(D, H, 2, **kw))
        kpm_case = padding(lengths, T)
        y = a.double()(x.double(), kpm_case).detach().float()
        save(case, a, {"x": x, "lengths": lengths}, y)
