"""Layer normalisation over the channels of a (B, C, H, W) feature map."""

import torch
from torch import nn


class LayerNorm2d(nn.Module):
    """Normalises each pixel's channel vector, as LayerNorm does for tokens.

    Parameters keep the official names (``weight``, ``bias``) so checkpoints load as they are.
    """

    def __init__(self, channels: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.eps = eps

    def forward(self, x_bchw: torch.Tensor) -> torch.Tensor:
        mean = x_bchw.mean(1, keepdim=True)
        var = (x_bchw - mean).pow(2).mean(1, keepdim=True)
        normed = (x_bchw - mean) / torch.sqrt(var + self.eps)
        return self.weight[:, None, None] * normed + self.bias[:, None, None]
