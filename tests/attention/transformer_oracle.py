"""Oracle for tests/attention/transformer.cpp: torch.nn's TransformerEncoderLayer,
TransformerDecoderLayer and their stacks (batch_first, eval) over odd sizes (D = 72, 6 heads,
feed-forward 100, T = 37, memory S = 53, batch 3), both norm orders, ReLU and GELU, masks and
padding, with and without a final norm; the feed-forward variants (ReLU, GELU, GELU-tanh,
SwiGLU), sinusoidal and learned positions, and a ViT patch embedding (tools/reference).

Outputs are the same modules in float64 with autograd on (torch's reference path, not its
fused inference fast path), from the float32 weights and inputs."""
import math

import torch
import torch.nn.functional as F
from torch import nn

from mmm_oracle import Oracle
from reference.decoder_blocks import LlamaMLP, GPT2MLP
from reference.vision_transformer import PatchEmbed

D, H, FF, T, S, N = 72, 6, 100, 37, 53, 3

with Oracle("attention.transformer") as o:
    g = torch.Generator().manual_seed(o.seed)

    def randomize(m):
        # As attention_oracle.py: weights N(0, 1/fan_in), biases N(0, 0.2²); norms near 1.
        with torch.no_grad():
            for name, p in m.named_parameters():
                if "norm" in name and name.endswith("weight"):
                    p.copy_(1 + 0.2 * torch.randn(p.shape, generator=g))
                else:
                    scale = 1.0 / p.shape[-1] ** 0.5 if p.dim() > 1 else 0.2
                    p.copy_(torch.randn(p.shape, generator=g) * scale)
        return m

    def rand(*shape):
        return torch.randn(*shape, generator=g)

    def lengths_of(n, most):
        lengths = torch.randint(1, most + 1, (n,), generator=g)
        lengths[0] = most
        return lengths.to(torch.int32)

    def padding(lengths, most):
        return torch.arange(most)[None, :] >= lengths[:, None].long()

    def f64(*tensors):
        return [t.double() if t is not None and t.is_floating_point() else t for t in tensors]

    causal = torch.ones(T, T, dtype=torch.bool).triu(1)
    x, memory = rand(N, T, D), rand(N, S, D)
    lengths, mem_lengths = lengths_of(N, T), lengths_of(N, S)

    for case, kw, mask_kind in [("encoder_post_relu", dict(), "padding"),
                                ("encoder_pre_gelu", dict(activation="gelu", norm_first=True, layer_norm_eps=1e-6),
                                 "causal")]:
        layer = randomize(nn.TransformerEncoderLayer(D, H, FF, dropout=0.0, batch_first=True, **kw)).double()
        if mask_kind == "padding":
            y = layer(*f64(x), src_key_padding_mask=padding(lengths, T))
        else:
            y = layer(*f64(x), src_mask=causal)
        o.save(case, layer.state_dict(), inputs={"x": x, "lengths": lengths}, outputs={"y": y.detach().float()})

    layer = nn.TransformerEncoderLayer(D, H, FF, dropout=0.0, batch_first=True, norm_first=True)
    stack = randomize(nn.TransformerEncoder(layer, 2, norm=nn.LayerNorm(D), enable_nested_tensor=False)).double()
    y = stack(*f64(x), mask=causal, src_key_padding_mask=padding(lengths, T))
    o.save("encoder_stack", stack.state_dict(), inputs={"x": x, "lengths": lengths}, outputs={"y": y.detach().float()})

    mem_mask = rand(T, S)
    for case, kw in [("decoder_post_relu", dict()),
                     ("decoder_pre_gelu", dict(activation="gelu", norm_first=True, layer_norm_eps=1e-6))]:
        layer = randomize(nn.TransformerDecoderLayer(D, H, FF, dropout=0.0, batch_first=True, **kw)).double()
        y = layer(*f64(x, memory), tgt_mask=causal, memory_mask=mem_mask.double(),
                  tgt_key_padding_mask=padding(lengths, T), memory_key_padding_mask=padding(mem_lengths, S))
        o.save(case, layer.state_dict(), inputs={"x": x, "memory": memory, "lengths": lengths,
                                                 "memory_lengths": mem_lengths, "memory_mask": mem_mask},
               outputs={"y": y.detach().float()})

    for case, norm_first in [("decoder_stack_post", False), ("decoder_stack_pre", True)]:
        layer = nn.TransformerDecoderLayer(D, H, FF, dropout=0.0, batch_first=True, norm_first=norm_first)
        stack = randomize(nn.TransformerDecoder(layer, 2, norm=nn.LayerNorm(D) if norm_first else None)).double()
        y = stack(*f64(x, memory), tgt_mask=causal, memory_key_padding_mask=padding(mem_lengths, S))
        o.save(case, stack.state_dict(), inputs={"x": x, "memory": memory, "memory_lengths": mem_lengths},
               outputs={"y": y.detach().float()})

    class TorchFF(nn.Module):
        def __init__(self, activation):
            super().__init__()
            self.linear1, self.linear2, self.activation = nn.Linear(D, FF), nn.Linear(FF, D), activation

        def forward(self, x):
            return self.linear2(self.activation(self.linear1(x)))

    feed_forwards = {
        "ff_relu": TorchFF(F.relu),
        "ff_gelu": TorchFF(F.gelu),
        "ff_gelu_tanh": TorchFF(lambda v: F.gelu(v, approximate="tanh")),
        "ff_gpt2": GPT2MLP(D, 4 * D),
        "ff_swiglu": LlamaMLP(D, FF),
    }
    for case, m in feed_forwards.items():
        randomize(m)
        o.save(case, m.state_dict(), inputs={"x": x}, outputs={"y": m.double()(x.double()).detach().float()})

    # Sinusoidal positions ("Attention Is All You Need", as PyTorch's tutorial builds them), in float64.
    position = torch.arange(T, dtype=torch.float64)[:, None]
    div = torch.exp(torch.arange(0, D, 2, dtype=torch.float64) * (-math.log(10000.0) / D))
    pe = torch.zeros(T, D, dtype=torch.float64)
    pe[:, 0::2], pe[:, 1::2] = torch.sin(position * div), torch.cos(position * div)
    o.save("sinusoidal", {}, inputs={"x": x}, outputs={"y": (x.double() + pe).float()})
    wpe = randomize(nn.Embedding(64, D))
    o.save("learned", {"weight": wpe.weight}, inputs={"x": x},
           outputs={"y": (x.double() + wpe.weight.double()[:T]).float()})

    for case, kw in [("patch_embed", dict()), ("patch_embed_plain", dict(class_token=False, positions=False))]:
        m = randomize(PatchEmbed(3, D, 8, 40, **kw))
        image = rand(2, 3, 40, 40)
        o.save(case, m.state_dict(), inputs={"image": image}, outputs={"y": m.double()(image.double()).detach().float()})
