"""Oracle for tests/parity/norm.cpp: LayerNorm and RMSNorm (LLaMA's formula) over odd sizes,
Feat and Seq, with and without affine parameters, at several eps, with a large row offset.
The expected outputs are the same torch modules run in float64 on the float32 weights and
inputs: at a row offset of 100, torch's own float32 LayerNorm is ~8e-6 off (absolute), which
near the zeros of weight·x̂ + bias is more than 1e-4 relative."""
import torch
from torch import nn

from mmm_oracle import Oracle


class RMSNorm(nn.Module):
    """LLaMA's RMSNorm: x / sqrt(mean(x^2) + eps) * weight."""

    def __init__(self, d, eps=1e-5, affine=True):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(d)) if affine else None

    def forward(self, x):
        y = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)
        return y * self.weight if self.weight is not None else y


with Oracle("parity.norm") as o:
    g = torch.Generator().manual_seed(o.seed)

    def randint(lo, hi):
        return int(torch.randint(lo, hi + 1, (1,), generator=g))

    def randomize(m):
        with torch.no_grad():
            for p in m.parameters():
                p.copy_(torch.randn(p.shape) * 0.7 + 0.3)
        return m

    cases = {
        "layer_norm_37": (nn.LayerNorm(37), (3, 37)),
        "layer_norm_72_seq": (nn.LayerNorm(72, eps=1e-6), (randint(1, 4), randint(1, 13), 72)),
        "layer_norm_37_plain": (nn.LayerNorm(37, elementwise_affine=False), (5, 37)),
        "rms_norm_37": (RMSNorm(37), (3, 37)),
        "rms_norm_72_seq": (RMSNorm(72, eps=1e-6), (randint(1, 4), randint(1, 13), 72)),
        "rms_norm_37_plain": (RMSNorm(37, affine=False), (5, 37)),
    }
    with torch.no_grad():
        for name, (m, shape) in cases.items():
            randomize(m)
            x = torch.randn(shape) * 3 + (100 if name.endswith("seq") else 0)  # a large offset too
            o.save(name, m.state_dict(), inputs={"x": x}, outputs={"y": m.double()(x.double()).float()})
