"""Oracle for tests/vision/resnet.cpp and resnet50.cpp: torchvision's resnet18, resnet34 and
resnet50, or those --nets names (weights=None, then random BatchNorm statistics and affine
parameters), each on one 224×224
image and one non-square image (177×263), in eval mode. Saves each net's full state_dict and,
for both images, the logits, the pooled features (avgpool + flatten) and layer4's map.

The BatchNorm statistics are drawn around the batch statistics of a random batch (each
running_mean moved by ~0.2 σ, running_var scaled by 0.6-1.4, weight ~ N(1, 0.3), bias ~
N(0, 0.2)): far from the trivial 0 and 1, every channel different, and activations that stay
of order 1 through the 16 blocks, as in a trained net. (Statistics drawn without that anchor
grow ResNet-50's logits to ~1e4.)

The expected outputs are the same nets run in float64 (0.1-0.3 s an image), each with
torch's float32 result beside it (with_float32, for require_close_to_float64): torch's
float32 results are off from float64 by 2-6e-5 (pooled features), ~1e-4 (logits) and
~1e-3 (layer4's map) on the test's metric, and two float32 implementations compared with
each other once missed 1e-4 on ResNet-34's pooled features (1.13e-4)."""
import argparse
import copy

import torch
import torchvision
from torch import nn

from mmm_oracle import Oracle, with_float32


def randomize_batch_norms(model, generator_batch):
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.momentum = 1.0  # the running statistics become this batch's
    model.train()
    with torch.no_grad():
        model(generator_batch)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            c = m.num_features
            with torch.no_grad():
                m.running_mean.add_(torch.randn(c) * 0.2 * m.running_var.sqrt())
                m.running_var.mul_(torch.rand(c) * 0.8 + 0.6)
                m.weight.copy_(torch.randn(c) * 0.3 + 1.0)
                m.bias.copy_(torch.randn(c) * 0.2)
                m.num_batches_tracked.fill_(int(torch.randint(1, 10000, (1,))))
            m.momentum = 0.1
    return model.eval()


with Oracle("vision.resnet") as o:
    parser = argparse.ArgumentParser()
    parser.add_argument("--nets", nargs="+", default=["resnet18", "resnet34", "resnet50"])
    for name in parser.parse_args(o.extra).nets:
        model = randomize_batch_norms(getattr(torchvision.models, name)(weights=None), torch.randn(2, 3, 96, 96))
        exact_model = copy.deepcopy(model).double()
        seen = {}
        for m in (model, exact_model):
            m.layer4.register_forward_hook(lambda mod, inp, out: seen.__setitem__("map", out))
            m.avgpool.register_forward_hook(lambda mod, inp, out: seen.__setitem__("pooled", torch.flatten(out, 1)))

        def run(m, x):
            with torch.no_grad():
                logits = m(x)
            return {"logits": logits, "pooled": seen["pooled"], "map": seen["map"]}

        inputs, outputs = {}, {}
        for label, shape in [("square", (1, 3, 224, 224)), ("wide", (1, 3, 177, 263))]:
            x = torch.randn(shape)
            inputs[label] = x
            exact, float32 = run(exact_model, x.double()), run(model, x)
            outputs.update(with_float32({f"{label}.{k}": v for k, v in exact.items()},
                                        {f"{label}.{k}": v for k, v in float32.items()}))
        o.save(name, model.state_dict(), inputs=inputs, outputs=outputs)
