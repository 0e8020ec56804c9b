"""Oracle for tests/vision/conv_parity.cpp: nn.Conv2d, nn.Conv1d and nn.ConvTranspose2d over
odd shapes, every option (kernel and stride per axis, dilation, groups, depthwise, 1x1, the
four padding modes, padding='same', no bias), each also through ReLU and with a residual
added before the ReLU (what a residual block's last convolution computes), a BatchNorm folded
into a convolution, and NaN inputs. Fresh weights and inputs every run.

The expected outputs are the torch modules run in float64 on the float32 weights and inputs;
each also comes as torch's own float32 result ("<name>.torch32"). By the test's measure (error
relative to max(|y|, 1e-3·max|y|)) torch's float32 convolutions are 2e-5 to 2e-4 off on these
sums of 45 to 576 terms: the rounding of a float sum, which any float32 convolution has (mmm's
kernels show the same error, statistically). The C++ test holds mmm to 1e-4, or to 3× torch's
own float32 error on the case where that is larger, and prints both."""
import torch
from torch import nn

from mmm_oracle import Oracle


def randomize(m, g, scale=0.5):
    with torch.no_grad():
        for p in m.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * scale)
    return m


with Oracle("vision.conv") as o:
    g = torch.Generator().manual_seed(o.seed)

    def save_conv(name, m, x, extra_inputs=None):
        """y = m(x), relu = relu(y), residual_relu = relu(y + r) for a random r of y's shape."""
        randomize(m, g)
        with torch.no_grad():
            y32 = m(x)
            y = m.double()(x.double())
            m.float()
            r = torch.randn(y.shape, generator=g)
            o.save(name, m.state_dict(), inputs={"x": x, "r": r, **(extra_inputs or {})},
                   outputs=with_float32({"y": y, "relu": torch.relu(y), "residual_relu": torch.relu(y + r.double())},
                                        {"y": y32, "relu": torch.relu(y32), "residual_relu": torch.relu(y32 + r)}))

    def with_float32(exact, float32):
        """Outputs: the float64 results as float32, and torch's float32 ones beside them."""
        out = {k: v.float() for k, v in exact.items()}
        out.update({f"{k}.torch32": v for k, v in float32.items()})
        return out

    def image(*shape):
        return torch.randn(shape, generator=g)

    # ---- Conv2d ----
    save_conv("conv_3_16_k3x5_s2x1_d2", nn.Conv2d(3, 16, (3, 5), stride=(2, 1), padding=(1, 2), dilation=2),
              image(3, 3, 37, 53))
    for mode in ["zeros", "reflect", "replicate", "circular"]:
        save_conv(f"conv_12_20_g4_{mode}",
                  nn.Conv2d(12, 20, (3, 5), stride=(2, 1), padding=(2, 1), dilation=2, groups=4, padding_mode=mode),
                  image(3, 12, 37, 53))
    save_conv("conv_5_7_k4x3_same", nn.Conv2d(5, 7, (4, 3), padding="same", dilation=(1, 2)), image(2, 5, 37, 53))
    save_conv("conv_6_9_k3_same_reflect", nn.Conv2d(6, 9, 3, padding="same", padding_mode="reflect"),
              image(2, 6, 19, 23))
    save_conv("depthwise_24_k3", nn.Conv2d(24, 24, 3, padding=1, groups=24), image(3, 24, 37, 53))
    save_conv("depthwise_8_16_k5s2_replicate",
              nn.Conv2d(8, 16, 5, stride=2, padding=2, groups=8, padding_mode="replicate"), image(2, 8, 37, 53))
    save_conv("depthwise_10_k3_d2_circular", nn.Conv2d(10, 10, 3, padding=2, dilation=2, groups=10,
                                                      padding_mode="circular"), image(1, 10, 17, 29))
    save_conv("pointwise_37_29", nn.Conv2d(37, 29, 1), image(3, 37, 13, 11))
    save_conv("pointwise_40_70_s2_nobias", nn.Conv2d(40, 70, 1, stride=2, bias=False), image(2, 40, 15, 17))
    save_conv("stem_3_64_k7s2", nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False), image(2, 3, 61, 45))
    save_conv("conv_64_96_k3", nn.Conv2d(64, 96, 3, padding=1), image(1, 64, 19, 23))
    save_conv("conv_33_65_k2s3", nn.Conv2d(33, 65, 2, stride=3), image(2, 33, 20, 31))

    # A BatchNorm (eval, non-trivial running statistics) after a convolution, to be folded.
    conv = randomize(nn.Conv2d(16, 24, 3, padding=1, bias=False), g)
    bn = nn.BatchNorm2d(24, eps=1e-5)
    with torch.no_grad():
        bn.weight.copy_(torch.rand(24, generator=g) + 0.5)
        bn.bias.copy_(torch.randn(24, generator=g))
        bn.running_mean.copy_(torch.randn(24, generator=g))
        bn.running_var.copy_(torch.rand(24, generator=g) * 2 + 0.1)
    bn.eval()
    with torch.no_grad():
        x = image(2, 16, 21, 18)
        scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
        shift = bn.bias - bn.running_mean * scale
        y32 = bn(conv(x))
        o.save("conv_bn_fold", conv.state_dict(), inputs={"x": x, "scale": scale, "shift": shift},
               outputs=with_float32({"y": bn.double()(conv.double()(x.double()))}, {"y": y32}))

    # NaN in the input: the outputs whose window holds it are NaN, as in torch.
    m = randomize(nn.Conv2d(4, 6, 3, padding=1), g)
    x = image(1, 4, 9, 11)
    x[0, 1, 4, 6] = float("nan")
    with torch.no_grad():
        y32 = m(x)
        o.save("conv_nan", m.state_dict(), inputs={"x": x}, outputs=with_float32({"y": m.double()(x.double())}, {"y": y32}))
    m = randomize(nn.Conv2d(4, 4, 3, padding=1, groups=4), g)
    with torch.no_grad():
        y32 = m(x)
        o.save("depthwise_nan", m.state_dict(), inputs={"x": x},
               outputs=with_float32({"y": m.double()(x.double())}, {"y": y32}))
