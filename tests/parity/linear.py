"""Oracle for tests/parity/linear.cpp: Linear, activations, Softmax and a Sequential MLP.
Sizes are fixed (they are template parameters on the C++ side); batch and sequence
lengths, weights and inputs are drawn fresh each run. The Linear and MLP outputs are torch
in float64 with torch's float32 result beside them (with_float32): a float32 dot product
that cancels to near the comparison's floor misses 1e-4 in torch too (1.2e-4 was seen)."""
import torch
from torch import nn

from mmm_oracle import Oracle, with_float32

with Oracle("parity.linear") as o:
    g = torch.Generator().manual_seed(o.seed)
    def randint(lo, hi):
        return int(torch.randint(lo, hi + 1, (1,), generator=g))

    def exact_and_float32(m, x):
        with torch.no_grad():
            y32 = m(x)
            y = m.double()(x.double())
            m.float()
        return with_float32({"y": y}, {"y": y32})

    # Linear<37, 129> on Feat, odd sizes, batch 3 as the issue asks plus a random batch.
    for case, batch in (("linear_37_129", 3), ("linear_37_129_random_batch", randint(1, 9))):
        m = nn.Linear(37, 129)
        x = torch.randn(batch, 37)
        o.save(case, m.state_dict(), inputs={"x": x}, outputs=exact_and_float32(m, x))

    # Linear without bias, on Seq (N×T×D), with a PyTorch-style weight scale.
    m = nn.Linear(64, 17, bias=False)
    x = torch.randn(randint(1, 4), randint(1, 11), 64)
    o.save("linear_seq_nobias", m.state_dict(), inputs={"x": x}, outputs=exact_and_float32(m, x))

    # Linear 1→1, the smallest shape.
    m = nn.Linear(1, 1)
    x = torch.randn(5, 1)
    o.save("linear_1_1", m.state_dict(), inputs={"x": x}, outputs=exact_and_float32(m, x))

    # Every activation over a wide range (with exact zeros and large magnitudes).
    x = torch.cat([torch.randn(3, 41) * 4, torch.linspace(-30, 30, 41).unsqueeze(0), torch.zeros(1, 41)])
    acts = {
        "relu": nn.ReLU(), "gelu": nn.GELU(), "gelu_tanh": nn.GELU(approximate="tanh"),
        "silu": nn.SiLU(), "sigmoid": nn.Sigmoid(), "tanh": nn.Tanh(), "softmax": nn.Softmax(dim=-1),
    }
    o.save("activations", inputs={"x": x}, outputs={k: f(x) for k, f in acts.items()})
    xs = torch.randn(2, randint(1, 9), 41) * 5
    o.save("softmax_seq", inputs={"x": xs}, outputs={"y": nn.Softmax(dim=-1)(xs)})

    # A Sequential MLP, state_dict names "0.weight", "2.weight", …
    mlp = nn.Sequential(nn.Linear(37, 64), nn.ReLU(), nn.Linear(64, 129), nn.GELU(),
                        nn.Linear(129, 10), nn.Tanh(), nn.Linear(10, 7), nn.Softmax(dim=-1))
    x = torch.randn(randint(1, 17), 37)
    o.save("mlp", mlp.state_dict(), inputs={"x": x}, outputs=exact_and_float32(mlp, x))
