"""A Vision Transformer's input as a plain torch.nn module with timm's names: the reference for
mmm's PatchEmbedding (include/mmm/layers/patch_embed.hpp)."""
import torch
from torch import nn


class PatchEmbed(nn.Module):
    """Conv2d(C, D, P, stride=P) → [N, patches, D], a class token in front, positions added."""

    def __init__(self, channels, dim, patch, image, class_token=True, positions=True):
        super().__init__()
        tokens = (image // patch) ** 2 + (1 if class_token else 0)
        self.proj = nn.Conv2d(channels, dim, patch, stride=patch)
        self.cls_token = nn.Parameter(torch.randn(1, 1, dim) * 0.02) if class_token else None
        self.pos_embed = nn.Parameter(torch.randn(1, tokens, dim) * 0.02) if positions else None

    def forward(self, x):
        x = self.proj(x).flatten(2).transpose(1, 2)
        if self.cls_token is not None:
            x = torch.cat((self.cls_token.expand(x.shape[0], -1, -1), x), dim=1)
        if self.pos_embed is not None:
            x = x + self.pos_embed
        return x
