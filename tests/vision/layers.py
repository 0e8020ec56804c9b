"""Oracle for tests/vision/{pool,norm2d,resample,residual}.cpp: pooling, BatchNorm2d (with
random running statistics, standalone and folded into the convolution before it), GroupNorm,
Upsample, PixelShuffle/Unshuffle, Flatten, residual connections and ResNet's blocks, over
odd map sizes (37×53), batch 3, every option.

Expected outputs: max pooling, Upsample and PixelShuffle are compared with torch's float32
results (they select or interpolate values, and the nearest-neighbour indices are computed in
float32 by torch in every dtype). Everything that sums (average pooling, the norms, the
convolutions) is compared with the same torch module run in float64 on the float32 weights
and inputs: those are the exact answers, which torch's own float32 path misses by more than
1e-4 relative near zeros of large-offset inputs.

Cases with convolutions (a folded BatchNorm, residual blocks) are held to 3e-4 by the C++
side instead of 1e-4: outputs near zero are differences of sums of 30-150 products, and at
float32 resolution the test's metric (error over max(|y|, 1e-3·max|y|)) then reaches ~1e-4
for any float32 implementation. Measured on these cases: torch's own float32 result against
the float64 one, up to 1.2e-4 over 10 seeds; mmm's, up to 1.9e-4 over 36 seeds (with the
blocks at 16 to 32 channels; the channel counts here halve the sums)."""
import torch
import torchvision
from torch import nn

from mmm_oracle import Oracle

with Oracle("vision.layers") as o:
    def randomize_bn(bn):
        """Non-trivial eval statistics: the identity (mean 0, var 1) would hide mistakes."""
        with torch.no_grad():
            c = bn.num_features
            bn.running_mean.copy_(torch.randn(c) * 0.5)
            bn.running_var.copy_(torch.rand(c) * 1.5 + 0.25)
            if bn.affine:
                bn.weight.copy_(torch.randn(c) * 0.5 + 1.0)
                bn.bias.copy_(torch.randn(c) * 0.3)
            bn.num_batches_tracked.fill_(int(torch.randint(1, 1000, (1,))))
        return bn

    def randomize(m):
        for mod in m.modules():
            if isinstance(mod, nn.BatchNorm2d):
                randomize_bn(mod)
            elif isinstance(mod, nn.GroupNorm) and mod.affine:
                with torch.no_grad():
                    mod.weight.copy_(torch.randn(mod.num_channels) * 0.5 + 1.0)
                    mod.bias.copy_(torch.randn(mod.num_channels) * 0.3)
        return m.eval()

    def save(name, m, x, exact=True, **meta):
        """exact: the expected output is the float64 module on the float64 input."""
        m = randomize(m)
        with torch.no_grad():
            y = m.double()(x.double()).float() if exact else m(x)
        o.save(name, m.float().state_dict(), inputs={"x": x}, outputs={"y": y}, metadata=meta)

    x = torch.randn(3, 5, 37, 53)
    # ---- pooling
    save("max_k3s2p1", nn.MaxPool2d(3, 2, 1), x, exact=False)
    save("max_odd", nn.MaxPool2d((3, 5), stride=(2, 1), padding=(1, 2), dilation=(2, 1), ceil_mode=True), x, exact=False)
    save("max_ceil", nn.MaxPool2d(2, ceil_mode=True), x, exact=False)
    save("max_dilation", nn.MaxPool2d(3, stride=1, padding=1, dilation=2), x, exact=False)
    save("max_tall", nn.MaxPool2d((70, 3), stride=(3, 2), padding=(4, 1)), torch.randn(2, 3, 75, 53), exact=False)
    special = x.clone()
    flat = special.view(-1)
    picks = torch.randperm(flat.numel())[:60]
    flat[picks[:20]] = float("nan")
    flat[picks[20:40]] = float("inf")
    flat[picks[40:]] = float("-inf")
    save("max_nan", nn.MaxPool2d(3, 2, 1), special, exact=False)
    save("adaptive_max_nan", nn.AdaptiveMaxPool2d((5, 7)), special, exact=False)
    save("avg_k3s2p1", nn.AvgPool2d(3, 2, 1), x)
    save("avg_k3s2p1_exclude_pad", nn.AvgPool2d(3, 2, 1, count_include_pad=False), x)
    save("avg_odd_ceil", nn.AvgPool2d((3, 5), stride=(2, 3), padding=(1, 2), ceil_mode=True), x)
    save("avg_odd_ceil_exclude_pad",
         nn.AvgPool2d((3, 5), stride=(2, 3), padding=(1, 2), ceil_mode=True, count_include_pad=False), x)
    save("avg_divisor", nn.AvgPool2d(3, 2, 1, divisor_override=7), x)
    save("avg_default_stride", nn.AvgPool2d((4, 3)), x)
    save("adaptive_avg_5x7", nn.AdaptiveAvgPool2d((5, 7)), x)
    save("adaptive_avg_1", nn.AdaptiveAvgPool2d(1), x + 50)
    save("adaptive_avg_grow", nn.AdaptiveAvgPool2d((41, 60)), x)
    save("adaptive_max_5x7", nn.AdaptiveMaxPool2d((5, 7)), x, exact=False)
    save("adaptive_max_grow", nn.AdaptiveMaxPool2d((41, 60)), x, exact=False)

    # ---- normalization
    y13 = torch.randn(3, 13, 37, 53) * 2 + 0.5
    save("batch_norm", nn.BatchNorm2d(13), y13)
    save("batch_norm_plain", nn.BatchNorm2d(13, eps=1e-3, affine=False), y13)
    save("batch_norm_folded", nn.Sequential(nn.Conv2d(5, 13, 3, padding=1, bias=False), nn.BatchNorm2d(13), nn.ReLU()), x)
    save("batch_norm_folded_bias", nn.Sequential(nn.Conv2d(5, 13, 3, stride=2, bias=True), nn.BatchNorm2d(13)), x)
    save("batch_norm_after_relu",
         nn.Sequential(nn.Conv2d(5, 13, 3, padding=1), nn.ReLU(), nn.BatchNorm2d(13), nn.ReLU()), x)
    g12 = torch.randn(3, 12, 37, 53) * 3 + 20  # a large offset
    save("group_norm", nn.GroupNorm(4, 12), g12)
    save("group_norm_one_group", nn.GroupNorm(1, 12, eps=1e-6), g12)
    save("group_norm_instance_plain", nn.GroupNorm(12, 12, affine=False), g12)

    # ---- resampling
    def up(**kw):
        return nn.Upsample(**kw)
    save("nearest_x2", up(scale_factor=2), x, exact=False)
    save("nearest_x1_7", up(scale_factor=1.7), x, exact=False)
    save("nearest_size", up(size=(50, 31)), x, exact=False)
    save("nearest_exact_x1_5", up(scale_factor=1.5, mode="nearest-exact"), x, exact=False)
    save("nearest_exact_size", up(size=(29, 80), mode="nearest-exact"), x, exact=False)
    save("bilinear_x2", up(scale_factor=2, mode="bilinear", align_corners=False), x, exact=False)
    save("bilinear_odd_scale", up(scale_factor=(1.5, 2.3), mode="bilinear", align_corners=False), x, exact=False)
    save("bilinear_size", up(size=(64, 20), mode="bilinear", align_corners=False), x, exact=False)
    save("bilinear_size_one", up(size=(1, 53), mode="bilinear", align_corners=False), x, exact=False)
    save("bilinear_corners_size", up(size=(50, 70), mode="bilinear", align_corners=True), x, exact=False)
    save("bilinear_corners_x3", up(scale_factor=3, mode="bilinear", align_corners=True), x, exact=False)
    save("pixel_shuffle_2", nn.PixelShuffle(2), torch.randn(3, 12, 7, 9), exact=False)
    save("pixel_shuffle_3", nn.PixelShuffle(3), torch.randn(2, 18, 5, 4), exact=False)
    save("pixel_unshuffle_2", nn.PixelUnshuffle(2), torch.randn(3, 3, 8, 10), exact=False)

    # ---- residual connections, Flatten, ResNet's blocks
    class Residual(nn.Module):
        """out = after(body(x) + shortcut(x)), with the names mmm's Residual uses."""

        def __init__(self, body, shortcut=None, after=None):
            super().__init__()
            self.body = body
            self.shortcut = shortcut if shortcut is not None else nn.Identity()
            self.after = after if after is not None else nn.Identity()

        def forward(self, x):
            return self.after(self.body(x) + self.shortcut(x))

    x6 = torch.randn(3, 6, 37, 53)
    save("residual_identity",
         Residual(nn.Sequential(nn.Conv2d(6, 6, 3, padding=1), nn.BatchNorm2d(6), nn.ReLU(),
                                nn.Conv2d(6, 6, 3, padding=1), nn.BatchNorm2d(6)), after=nn.ReLU()), x6)
    save("residual_projection",
         Residual(nn.Sequential(nn.Conv2d(6, 8, 3, stride=2, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                                nn.Conv2d(8, 8, 3, padding=1)),
                  shortcut=nn.Sequential(nn.Conv2d(6, 8, 1, stride=2), nn.BatchNorm2d(8))), x6)
    save("residual_unfused", Residual(nn.Sequential(nn.Conv2d(6, 6, 3, padding=1), nn.ReLU()), after=nn.GELU()), x6)
    save("residual_feat", Residual(nn.Sequential(nn.Linear(37, 37), nn.Tanh())), torch.randn(5, 37))
    save("residual_then_relu", nn.Sequential(Residual(nn.Conv2d(6, 6, 3, padding=1)), nn.ReLU()), x6)
    save("flatten_from_next", nn.Sequential(nn.Conv2d(3, 4, 3, stride=2), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 8 * 11, 5)),
         torch.randn(2, 3, 17, 23))

    def downsample(cin, cout, stride):
        return nn.Sequential(torchvision.models.resnet.conv1x1(cin, cout, stride), nn.BatchNorm2d(cout))
    Basic = torchvision.models.resnet.BasicBlock
    Bottle = torchvision.models.resnet.Bottleneck
    save("basic_block", Basic(8, 8), torch.randn(3, 8, 37, 53))
    save("basic_block_stride2", Basic(8, 16, 2, downsample(8, 16, 2)), torch.randn(3, 8, 37, 53))
    save("bottleneck", Bottle(16, 4), torch.randn(3, 16, 37, 53))
    save("bottleneck_stride2", Bottle(8, 4, 2, downsample(8, 16, 2)), torch.randn(3, 8, 37, 53))
