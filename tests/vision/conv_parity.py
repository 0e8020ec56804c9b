"""Oracle for tests/vision/conv_parity.cpp: nn.Conv2d, nn.Conv1d and nn.ConvTranspose2d over
odd shapes, every option (kernel and stride per axis, dilation, groups, depthwise, 1x1, the
four padding modes, padding='same', no bias), each also through ReLU and with a residual
added before the ReLU (what a residual block's last convolution computes), a BatchNorm folded
into a convolution, and NaN inputs. Fresh weights and inputs every run.

The expected outputs are the torch modules run in float64 on the float32 weights and inputs;
each also comes as torch's own float32 result ("<name>.torch32"). By the test's measure (error
relative to max(|y|, 1e-3·max|y|)) torch's float32 convolutions are 2e-5 to 2e-4 off on these
sums of 45 to 576 terms: the rounding of a float sum, which any float32 convolution has (mmm's
kernels show the same error, statistically). The C++ test holds mmm to 1e-4, or to 4× torch's
own float32 error on the case where that is larger, and prints both."""
import torch
from torch import nn

from mmm_oracle import Oracle, with_float32


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
    # at most 4 output channels: the direct kernel (mmm), full vectors and a partial one per row
    save_conv("narrow_16_3_k3", nn.Conv2d(16, 3, 3, padding=1), image(2, 16, 37, 71))
    save_conv("narrow_5_1_k3x5_s2x1_d2_reflect",
              nn.Conv2d(5, 1, (3, 5), stride=(2, 1), padding=(2, 4), dilation=2, padding_mode="reflect"),
              image(3, 5, 23, 37))
    save_conv("narrow_7_4_k2_nopad_nobias", nn.Conv2d(7, 4, 2, bias=False), image(1, 7, 19, 40))
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

    # ---- Conv1d over time-major sequences (mmm's Seq is [N, T, C]; torch's input [N, C, T]) ----
    def save_conv1d(name, m, batch, length, lengths=None):
        """Each item alone (its first `lengths[b]` steps), its output zero past its own length."""
        randomize(m, g)
        x = torch.randn(batch, length, m.in_channels, generator=g)
        lengths = lengths or [length] * batch

        def run(mod, x):
            """The output, and where it is valid (steps past an item's own length are zero)."""
            full = mod(x[:, :length].transpose(1, 2)).transpose(1, 2)  # shape of the batch's output
            y = torch.zeros_like(full)
            valid = torch.zeros(full.shape[:2] + (1,), dtype=torch.bool)
            for b, l in enumerate(lengths):
                item = mod(x[b:b + 1, :l].transpose(1, 2)).transpose(1, 2)
                y[b, :item.shape[1]] = item[0]
                valid[b, :item.shape[1]] = True
            return y, valid

        with torch.no_grad():
            y32, valid = run(m, x)
            y, _ = run(m.double(), x.double())
            m.float()
            r = torch.randn(y.shape, generator=g)  # a fused residual is not added past an item's length either
            o.save(name, m.state_dict(), inputs={"x": x, "r": r, "lengths": torch.tensor(lengths, dtype=torch.int32)},
                   outputs=with_float32({"y": y, "gelu": nn.functional.gelu(y), "residual_relu": torch.relu(y + r.double()) * valid},
                                        {"y": y32, "gelu": nn.functional.gelu(y32), "residual_relu": torch.relu(y32 + r) * valid}))

    save_conv1d("conv1d_80_96_k3", nn.Conv1d(80, 96, 3, padding=1), 2, 301)
    save_conv1d("conv1d_96_96_k3s2_lengths", nn.Conv1d(96, 96, 3, stride=2, padding=1), 3, 301, [301, 157, 2])
    save_conv1d("conv1d_12_20_k5d2g4_reflect_lengths",
                nn.Conv1d(12, 20, 5, padding=4, dilation=2, groups=4, padding_mode="reflect"), 3, 37, [37, 20, 9])
    save_conv1d("conv1d_depthwise_24_k7_replicate_lengths",
                nn.Conv1d(24, 24, 7, padding=3, groups=24, padding_mode="replicate"), 2, 53, [53, 30])
    save_conv1d("conv1d_8_6_k4_same", nn.Conv1d(8, 6, 4, padding="same"), 2, 29)
    save_conv1d("conv1d_10_7_k3s3_nobias_circular", nn.Conv1d(10, 7, 3, stride=3, padding=1, bias=False,
                                                              padding_mode="circular"), 2, 31, [31, 12])

    # ---- ConvTranspose2d ----
    save_conv("conv_transpose_12_8_k3x4_s2x3_op_g4",
              nn.ConvTranspose2d(12, 8, (3, 4), stride=(2, 3), padding=(1, 2), output_padding=(1, 2), groups=4),
              image(3, 12, 13, 11))
    save_conv("conv_transpose_16_10_k4s2", nn.ConvTranspose2d(16, 10, 4, stride=2, padding=1), image(2, 16, 9, 7))
    save_conv("conv_transpose_6_9_k3d2_nobias", nn.ConvTranspose2d(6, 9, 3, dilation=2, bias=False), image(1, 6, 8, 10))
    # kernel a multiple of the stride: by phases (mmm); the last with a padding too large for them
    save_conv("conv_transpose_12_8_k6x2_s3x2_op_g2",
              nn.ConvTranspose2d(12, 8, (6, 2), stride=(3, 2), padding=(2, 0), output_padding=(1, 1), groups=2),
              image(3, 12, 5, 7))
    save_conv("conv_transpose_33_17_k4s2", nn.ConvTranspose2d(33, 17, 4, stride=2, padding=1), image(2, 33, 19, 21))
    save_conv("conv_transpose_5_6_k3x2_s1_nobias", nn.ConvTranspose2d(5, 6, (3, 2), padding=(1, 0), bias=False),
              image(2, 5, 11, 9))
    save_conv("conv_transpose_4_5_k4s2p3", nn.ConvTranspose2d(4, 5, 4, stride=2, padding=3), image(2, 4, 7, 6))
