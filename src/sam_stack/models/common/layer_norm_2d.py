"""Layer normalisation over the channels of a (B, C, H, W) feature map."""

import torch
from torch import nn

from .in_place import gradients_wanted


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
        centred = x_bchw - mean
        std = torch.sqrt(centred.pow(2).mean(1, keepdim=True) + self.eps)
        weight, bias = self.weight[:, None, None], self.bias[:, None, None]
        if gradients_wanted(x_bchw, self.weight, self.bias):
            return weight * (centred / std) + bias
        # The official arithmetic, step for step, in one buffer (it makes five as large as the
        # input; the decoder's upscaling runs this on 64 prompts at once).
        return centred.div_(std).mul_(weight).add_(bias)
