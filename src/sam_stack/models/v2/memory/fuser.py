"""The fuser of the memory encoder: ConvNeXt blocks that mix mask and image features (official Fuser)."""

import torch
from torch import nn

from ...common.layer_norm_2d import LayerNorm2d


class ConvNeXtBlock(nn.Module):
    """Depthwise convolution, LayerNorm2d, a pointwise MLP with GELU, layer scale, residual.

    The official CXBlock (lightly adapted from ConvNeXt). Keys: ``dwconv``, ``norm``, ``pwconv1``,
    ``pwconv2`` and ``gamma``, the per-channel layer scale. The pointwise layers are Linear layers
    applied to channels-last pixels, as in the official code, so their weights load as they are.

    Args:
        dim: channels in and out.
        kernel_size: of the depthwise convolution (7 in every official model); padding keeps
            the size.
    """

    def __init__(self, dim: int, kernel_size: int = 7) -> None:
        super().__init__()
        self.dwconv = nn.Conv2d(dim, dim, kernel_size, padding=kernel_size // 2, groups=dim)
        self.norm = LayerNorm2d(dim)
        self.pwconv1 = nn.Linear(dim, 4 * dim)
        self.act = nn.GELU()
        self.pwconv2 = nn.Linear(4 * dim, dim)
        # Starts near zero, as in ConvNeXt, so a fresh block is close to the identity.
        self.gamma = nn.Parameter(torch.full((dim,), 1e-6))

    def forward(self, x_bchw: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> (B, C, H, W)."""
        x_bhwc = self.norm(self.dwconv(x_bchw)).permute(0, 2, 3, 1)
        update_bhwc = self.gamma * self.pwconv2(self.act(self.pwconv1(x_bhwc)))
        return x_bchw + update_bhwc.permute(0, 3, 1, 2)


class Fuser(nn.Module):
    """``depth`` ConvNeXt blocks in sequence (keys ``layers.N.*``).

    The official Fuser can start with a 1 x 1 input projection; no released model has one
    (``input_projection`` is left False), so it has no weights and is left out here.
    """

    def __init__(self, dim: int, depth: int = 2, kernel_size: int = 7) -> None:
        super().__init__()
        self.layers = nn.ModuleList(ConvNeXtBlock(dim, kernel_size) for _ in range(depth))

    def forward(self, x_bchw: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> (B, C, H, W)."""
        for layer in self.layers:
            x_bchw = layer(x_bchw)
        return x_bchw
