"""Oracle for tests/math/parity.cpp: PyTorch's element-wise functions, softmax, log_softmax,
layer_norm and an RMSNorm written out in torch, on random odd-sized inputs. Each result is
saved twice: from float32 (what PyTorch computes) and from float64 rounded to float32
(the exact answer), so the C++ test checks parity and accuracy separately."""
import torch
import torch.nn.functional as F

from mmm_oracle import Oracle

with Oracle("math.parity") as o:
    g = torch.Generator().manual_seed(o.seed)

    def randint(lo, hi):
        return int(torch.randint(lo, hi + 1, (1,), generator=g))

    def both(fn, x):
        return fn(x), fn(x.double()).float()

    # Element-wise: random rows at a few scales, a dense ramp over the interesting range,
    # and exact zeros.
    cols = randint(17, 301) | 1
    x = torch.cat([torch.randn(3, cols) * s for s in (0.5, 3.0, 12.0)] +
                  [torch.linspace(-20, 20, cols).unsqueeze(0), torch.zeros(1, cols)])
    fns = {
        "exp": torch.exp, "tanh": torch.tanh, "sigmoid": torch.sigmoid, "erf": torch.erf,
        "gelu": F.gelu, "gelu_tanh": lambda t: F.gelu(t, approximate="tanh"), "silu": F.silu,
        "relu": torch.relu,
    }
    outputs = {}
    for name, fn in fns.items():
        outputs[name], outputs[name + ".exact"] = both(fn, x)
    xpos = torch.exp(torch.randn(5, cols) * 8)  # log over many binades
    outputs["log"], outputs["log.exact"] = both(torch.log, xpos)
    o.save("elementwise", inputs={"x": x, "xpos": xpos}, outputs=outputs)

    # Row-wise: several odd shapes and logit scales.
    for i in range(4):
        rows, cols = randint(1, 9), randint(1, 700)
        scale = (0.3, 1.0, 5.0, 30.0)[i]
        x = torch.randn(rows, cols) * scale + torch.randn(rows, 1) * 10
        att_scale = 1.0 / float(randint(1, 128)) ** 0.5
        eps = (1e-5, 1e-6, 1e-3, 1e-12)[i]
        w = torch.randn(cols) * 0.5 + 1
        b = torch.randn(cols)
        outputs = {}
        outputs["softmax"], outputs["softmax.exact"] = both(lambda t: torch.softmax(t, -1), x)
        outputs["scaled_softmax"], outputs["scaled_softmax.exact"] = both(
            lambda t: torch.softmax(t * att_scale, -1), x)
        outputs["log_softmax"], outputs["log_softmax.exact"] = both(lambda t: torch.log_softmax(t, -1), x)
        outputs["layer_norm"], outputs["layer_norm.exact"] = both(
            lambda t: F.layer_norm(t, (cols,), w.to(t.dtype), b.to(t.dtype), eps), x)
        outputs["layer_norm_plain"], outputs["layer_norm_plain.exact"] = both(
            lambda t: F.layer_norm(t, (cols,), None, None, eps), x)
        outputs["rms_norm"], outputs["rms_norm.exact"] = both(
            lambda t: t * torch.rsqrt(t.pow(2).mean(-1, keepdim=True) + eps) * w.to(t.dtype), x)
        o.save(f"rows_{i}", inputs={"x": x, "weight": w, "bias": b}, outputs=outputs,
               metadata={"eps": repr(eps), "scale": repr(att_scale)})
