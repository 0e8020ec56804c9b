"""Oracle for tests/fusion/parity.cpp: Embedding, MeanPool, LastStep, GlobalAvgPool,
Flatten, FusionConcat, SoftmaxHead and a Parallel image+text model, against torch.
Feature sizes are fixed (template parameters on the C++ side) and odd; batch, lengths,
image sizes, weights and inputs are drawn fresh each run."""
import torch
from torch import nn

from mmm_oracle import Oracle


def randint(g, lo, hi):
    return int(torch.randint(lo, hi + 1, (1,), generator=g))


def valid_lengths(g, batch, length):
    """Per-item valid lengths in [1, length], with at least one full item."""
    lengths = torch.randint(1, length + 1, (batch,), generator=g)
    lengths[randint(g, 0, batch - 1)] = length
    return lengths


def masked_mean(x, lengths):
    mask = (torch.arange(x.shape[1])[None, :] < lengths[:, None]).to(x.dtype)
    return (x * mask[:, :, None]).sum(1) / lengths[:, None].to(x.dtype)


with Oracle("fusion.parity") as o, torch.no_grad():
    g = torch.Generator().manual_seed(o.seed)

    # Embedding<37, 19> over a padded batch; padding ids are valid ids too (torch looks them up).
    emb = nn.Embedding(37, 19)
    batch, length = randint(g, 1, 5), randint(g, 1, 13)
    ids = torch.randint(0, 37, (batch, length), generator=g)
    ids[0, 0], ids[-1, -1] = 0, 36  # both ends of the table
    lengths = valid_lengths(g, batch, length)
    o.save("embedding", emb.state_dict(), inputs={"ids": ids.int(), "lengths": lengths.int()},
           outputs={"y": emb(ids)})

    # MeanPool and LastStep over Seq<23> with per-item lengths.
    batch, length = randint(g, 1, 6), randint(g, 1, 17)
    x = torch.randn(batch, length, 23)
    lengths = valid_lengths(g, batch, length)
    last = x[torch.arange(batch), lengths - 1]
    o.save("pool_seq", inputs={"x": x, "lengths": lengths.int()},
           outputs={"mean": masked_mean(x, lengths), "mean_full": x.mean(1), "last": last, "last_full": x[:, -1]})

    # GlobalAvgPool over Map<13>, odd H×W; Flatten<5, 7, 3>.
    x = torch.randn(randint(g, 1, 4), 13, randint(g, 1, 19), randint(g, 1, 23)) + 0.5
    o.save("global_avg_pool", inputs={"x": x}, outputs={"y": nn.AdaptiveAvgPool2d(1)(x).flatten(1)})
    x = torch.randn(randint(g, 1, 4), 5, 7, 3)
    o.save("flatten", inputs={"x": x}, outputs={"y": nn.Flatten()(x)})

    # FusionConcat: Feat<11> + Feat<6> + Feat<1>; Seq<9> + Feat<5> (broadcast over time).
    batch = randint(g, 1, 5)
    a, b, c = torch.randn(batch, 11), torch.randn(batch, 6), torch.randn(batch, 1)
    o.save("concat_feat", inputs={"a": a, "b": b, "c": c}, outputs={"y": torch.cat([a, b, c], -1)})
    length = randint(g, 1, 9)
    s, f = torch.randn(batch, length, 9), torch.randn(batch, 5)
    o.save("concat_seq_feat", inputs={"s": s, "f": f},
           outputs={"y": torch.cat([s, f[:, None, :].expand(batch, length, 5)], -1),
                    "y_feat_first": torch.cat([f[:, None, :].expand(batch, length, 5), s], -1)})

    # SoftmaxHead<29, 13> = Linear + softmax, on Feat and on Seq; large logits too.
    head = nn.Linear(29, 13)
    x = torch.randn(randint(g, 1, 7), 29) * 3
    xs = torch.randn(2, randint(g, 1, 5), 29)
    o.save("softmax_head", head.state_dict(), inputs={"x": x, "xs": xs},
           outputs={"y": torch.softmax(head(x), -1), "ys": torch.softmax(head(xs), -1)})

    # A whole image + text model, state_dict names as Sequential<Parallel<...>, ...>:
    #   Sequential<Parallel<Sequential<Flatten<3, 5, 7>, Linear<105, 17>, ReLU>,
    #                       Sequential<Embedding<41, 15>, MeanPool, Linear<15, 9>, Tanh>>,
    #              FusionConcat, Linear<26, 21>, ReLU, SoftmaxHead<21, 7>>
    class Parallel(nn.ModuleList):
        def forward(self, xs):
            return tuple(m(x) for m, x in zip(self, xs))

    image = nn.Sequential(nn.Flatten(), nn.Linear(105, 17), nn.ReLU())
    text = nn.ModuleList([nn.Embedding(41, 15), nn.Identity(), nn.Linear(15, 9), nn.Tanh()])
    model = nn.Sequential(Parallel([image, text]), nn.Identity(), nn.Linear(26, 21), nn.ReLU(), nn.Linear(21, 7))
    batch, length = randint(g, 1, 6), randint(g, 1, 8)
    img = torch.randn(batch, 3, 5, 7)
    ids = torch.randint(0, 41, (batch, length), generator=g)
    lengths = valid_lengths(g, batch, length)
    t = text[3](text[2](masked_mean(text[0](ids), lengths)))
    fused = torch.cat([image(img), t], -1)
    probs = torch.softmax(model[4](model[3](model[2](fused))), -1)
    o.save("model", model.state_dict(), inputs={"image": img, "ids": ids.int(), "lengths": lengths.int()},
           outputs={"y": probs})

    # Conv2D: odd channel counts and sizes, several geometries, + ReLU as Sequential fuses it.
    for case, (cin, cout, k, s, p, d) in {"conv_3_5_k3s2p1": (3, 5, 3, 2, 1, 1), "conv_4_7_k1": (4, 7, 1, 1, 0, 1),
                                          "conv_2_3_k5s1p2d2": (2, 3, 5, 1, 2, 2), "conv_6_9_k4s3p0": (6, 9, 4, 3, 0, 1)}.items():
        conv = nn.Conv2d(cin, cout, k, stride=s, padding=p, dilation=d)
        x = torch.randn(randint(g, 1, 3), cin, randint(g, 9, 17), randint(g, 9, 21))
        o.save(case, conv.state_dict(), inputs={"x": x}, outputs={"y": conv(x), "relu": torch.relu(conv(x))})
