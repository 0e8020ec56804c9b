"""Oracle for tests/fusion/parity.cpp and joins.cpp: Embedding, MeanPool, LastStep,
GlobalAvgPool, Flatten, FusionConcat, SoftmaxHead and a Parallel image+text model; Fork,
FusionSum/Product, GatedFusion, MapToSeq, SequenceJoin (tools/mmm_fusion.py's reference
modules) and the SoftmaxHead read-outs (logits, temperature, log-probabilities, top-k),
against torch. Feature sizes are fixed (template parameters on the C++ side) and odd;
batch, lengths, image sizes, weights and inputs are drawn fresh each run."""
import torch
from torch import nn

import mmm_fusion as F
from mmm_oracle import Oracle, with_float32


def randint(g, lo, hi):
    return int(torch.randint(lo, hi + 1, (1,), generator=g))


def exact_and_float32(module, inputs):
    """{"y": module(inputs(float64))} and torch's float32 result beside it (with_float32), for
    outputs that a float32 sum can cancel to near the comparison's floor."""
    with torch.no_grad():
        y32 = module(inputs(torch.float32))
        y = module.double()(inputs(torch.float64))
        module.float()
    return with_float32({"y": y}, {"y": y32})


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

    # ---- joins.cpp ----
    # Fork: Sequential<Fork<Sequential<Linear<13, 11>, ReLU>, Linear<13, 11>>, FusionSum, Linear<11, 5>>
    # on Feat and on Seq; and a Fork of three into FusionProduct.
    model = nn.Sequential(F.Fork([nn.Sequential(nn.Linear(13, 11), nn.ReLU()), nn.Linear(13, 11)]), F.FusionSum(),
                          nn.Linear(11, 5))
    x = torch.randn(randint(g, 1, 6), 13)
    xs = torch.randn(randint(g, 1, 4), randint(g, 1, 9), 13)
    o.save("fork_sum", model.state_dict(), inputs={"x": x, "xs": xs}, outputs={"y": model(x), "ys": model(xs)})
    model = nn.Sequential(F.Fork([nn.Linear(9, 6), nn.Sequential(nn.Linear(9, 6), nn.Tanh()), nn.Linear(9, 6)]),
                          F.FusionProduct())
    x = torch.randn(randint(g, 1, 6), 9)
    o.save("fork_product", model.state_dict(), inputs={"x": x}, outputs={"y": model(x)})

    # FusionSum / FusionProduct over Seq<9> (with lengths), Feat<9> (repeated), Seq<9>.
    batch, length = randint(g, 1, 5), randint(g, 1, 11)
    lengths = valid_lengths(g, batch, length)
    a, b, c = torch.randn(batch, length, 9), torch.randn(batch, 9), torch.randn(batch, length, 9)
    branches = ((a, lengths), b, c)
    o.save("sum_product", inputs={"a": a, "b": b, "c": c, "lengths": lengths.int()},
           outputs={"sum": F.FusionSum()(branches), "product": F.FusionProduct()(branches),
                    "sum_feat": F.FusionSum()((b, b * 2)), "product_feat": F.FusionProduct()((b, b + 1))})

    # FusionConcat with a Map<5> branch: H·W positions, a Feat<3> tiled over them; MapToSeq<7>.
    batch = randint(g, 1, 4)
    m, f = torch.randn(batch, 5, randint(g, 1, 6), randint(g, 1, 7)), torch.randn(batch, 3)
    o.save("concat_map", inputs={"m": m, "f": f}, outputs={"y": F.FusionConcat()((m, f)), "tokens": F.map_to_seq(m),
                                                         "y_feat_first": F.FusionConcat()((f, m))})

    # GatedFusion<11, 7, 13> on two Feat branches; GatedFusion<6, 5, 9, 4> on Seq, Feat, Seq.
    gated = F.GatedFusion(11, 7, 13)
    batch = randint(g, 1, 6)
    a, b = torch.randn(batch, 7), torch.randn(batch, 13)
    o.save("gated_two", gated.state_dict(), inputs={"a": a, "b": b},
           outputs=exact_and_float32(gated, lambda t: (a.to(t), b.to(t))))
    gated = F.GatedFusion(6, 5, 9, 4)
    batch, length = randint(g, 1, 4), randint(g, 1, 8)
    lengths = valid_lengths(g, batch, length)
    a, b, c = torch.randn(batch, length, 5), torch.randn(batch, 9), torch.randn(batch, length, 4)
    o.save("gated_three", gated.state_dict(), inputs={"a": a, "b": b, "c": c, "lengths": lengths.int()},
           outputs=exact_and_float32(gated, lambda t: ((a.to(t), lengths), b.to(t), c.to(t))))

    # SequenceJoin: image tokens (full), text (padded); a Feat prefix token; audio frames of
    # varying lengths before padded text.
    batch = randint(g, 1, 5)
    img, text_len = torch.randn(batch, randint(g, 1, 6), 12), randint(g, 1, 9)
    text, text_lengths = torch.randn(batch, text_len, 12), valid_lengths(g, batch, text_len)
    y, lengths, mask = F.SequenceJoin()((img, (text, text_lengths)))
    prefix = torch.randn(batch, 12)
    y2, lengths2, _ = F.SequenceJoin()((prefix, (text, text_lengths)))
    audio_len = randint(g, 1, 7)
    audio, audio_lengths = torch.randn(batch, audio_len, 12), valid_lengths(g, batch, audio_len)
    y3, lengths3, mask3 = F.SequenceJoin()(((audio, audio_lengths), (text, text_lengths), prefix))
    o.save("sequence_join", inputs={"img": img, "text": text, "text_lengths": text_lengths.int(), "prefix": prefix,
                                    "audio": audio, "audio_lengths": audio_lengths.int()},
           outputs={"y": y, "lengths": lengths.int(), "mask": mask.int(), "y_prefix": y2, "lengths_prefix": lengths2.int(),
                    "y_audio": y3, "lengths_audio": lengths3.int(), "mask_audio": mask3.int()})

    # A LLaVA-style join: Sequential<Parallel<Sequential<Conv2D<3, 8, k3 s2 p1>, ReLU, MapToSeq,
    # Linear<8, 16>>, Embedding<29, 16>>, SequenceJoin, MeanPool, SoftmaxHead<16, 5>>: the pool
    # reads each item's own image + text tokens only.
    projector = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.ReLU(), nn.Identity(), nn.Linear(8, 16))
    emb = nn.Embedding(29, 16)
    head = nn.Linear(16, 5)
    model = nn.Sequential(F.Parallel([projector, emb]), nn.Identity(), nn.Identity(), head)
    batch, length = randint(g, 1, 4), randint(g, 1, 7)
    image = torch.randn(batch, 3, randint(g, 3, 9), randint(g, 3, 9))
    ids = torch.randint(0, 29, (batch, length), generator=g)
    lengths = valid_lengths(g, batch, length)
    tokens = projector[3](F.map_to_seq(projector[1](projector[0](image))))
    joined, joined_lengths, _ = F.SequenceJoin()((tokens, (emb(ids), lengths)))
    probs = torch.softmax(head(masked_mean(joined, joined_lengths)), -1)
    o.save("llava_join", model.state_dict(), inputs={"image": image, "ids": ids.int(), "lengths": lengths.int()},
           outputs={"y": probs, "lengths": joined_lengths.int()})

    # SoftmaxHead<37, 23>: logits, probabilities at a temperature, log-probabilities, top-k.
    head = nn.Linear(37, 23)
    x = torch.randn(randint(g, 1, 6), 37) * 2
    xs = torch.randn(randint(g, 1, 3), randint(g, 1, 6), 37)
    t = 0.37
    z, zs = head(x), head(xs)
    top = torch.topk(torch.log_softmax(zs, -1), 5, -1)
    o.save("head_readouts", head.state_dict(), inputs={"x": x, "xs": xs},
           outputs={"logits": z, "probs_t": torch.softmax(z / t, -1), "log_probs": torch.log_softmax(z, -1),
                    "log_probs_t": torch.log_softmax(zs / t, -1), "top_values": top.values,
                    "top_classes": top.indices.int(), "top_probs": torch.topk(torch.softmax(z, -1), 3, -1).values,
                    "top_probs_classes": torch.topk(torch.softmax(z, -1), 3, -1).indices.int()})

    # CrossAttentionFusion<24, 20, 4>: padded text queries over padded audio frames; over an
    # image's positions (Map<20>); one Feat query per item; Dkv = Dq (torch's packed in_proj).
    fusion = F.CrossAttentionFusion(24, 20, 4)
    batch, t, s_len = randint(g, 1, 4), randint(g, 1, 7), randint(g, 1, 9)
    q, q_lengths = torch.randn(batch, t, 24), valid_lengths(g, batch, t)
    m, m_lengths = torch.randn(batch, s_len, 20), valid_lengths(g, batch, s_len)
    image = torch.randn(batch, 20, randint(g, 1, 4), randint(g, 1, 5))
    pooled = torch.randn(batch, 24)
    o.save("cross_attention_fusion", fusion.state_dict(),
           inputs={"q": q, "q_lengths": q_lengths.int(), "m": m, "m_lengths": m_lengths.int(), "image": image,
                   "pooled": pooled},
           outputs={"y": fusion(((q, q_lengths), (m, m_lengths))), "y_map": fusion(((q, q_lengths), image)),
                    "y_feat": fusion((pooled, (m, m_lengths)))})
    same = F.CrossAttentionFusion(16, 16, 2)
    q, m = torch.randn(batch, t, 16), torch.randn(batch, s_len, 16)
    o.save("cross_attention_fusion_same", same.state_dict(), inputs={"q": q, "m": m}, outputs={"y": same((q, m))})

    # A composed multimodal model: an LSTM text branch's states attend over a CNN image
    # branch's positions, then a pooled head:
    #   Sequential<Parallel<Sequential<Embedding<50, 20>, LSTM<20, 32>>,
    #                       Sequential<Conv2D<3, 16, k3 s2 p1>, ReLU, Conv2D<16, 24, k3 s2 p1>, ReLU>>,
    #              CrossAttentionFusion<32, 24, 4>, MeanPool, SoftmaxHead<32, 7>>
    class Text(nn.Module):
        def __init__(self):
            super().__init__()
            self.add_module("0", nn.Embedding(50, 20))
            self.add_module("1", nn.LSTM(20, 32, batch_first=True))

        def forward(self, ids_lengths):
            ids, lengths = ids_lengths
            x = getattr(self, "0")(ids)
            packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
            y, _ = getattr(self, "1")(packed)
            y, _ = nn.utils.rnn.pad_packed_sequence(y, batch_first=True, total_length=ids.shape[1])
            return y, lengths

    image_branch = nn.Sequential(nn.Conv2d(3, 16, 3, stride=2, padding=1), nn.ReLU(),
                                 nn.Conv2d(16, 24, 3, stride=2, padding=1), nn.ReLU())
    fusion = F.CrossAttentionFusion(32, 24, 4)
    head = nn.Linear(32, 7)
    model = nn.Sequential(F.Parallel([Text(), image_branch]), fusion, nn.Identity(), head)
    batch, length = randint(g, 1, 4), randint(g, 2, 9)
    ids = torch.randint(0, 50, (batch, length), generator=g)
    lengths = valid_lengths(g, batch, length)
    img = torch.randn(batch, 3, randint(g, 5, 13), randint(g, 5, 13))
    text_states, _ = model[0][0]((ids, lengths))
    fused = fusion(((text_states, lengths), image_branch(img)))
    probs = torch.softmax(head(masked_mean(fused, lengths)), -1)
    o.save("multimodal_model", model.state_dict(), inputs={"ids": ids.int(), "lengths": lengths.int(), "image": img},
           outputs={"y": probs})
