"""Shrinks a full-resolution mask to the grid of the image features (official MaskDownSampler)."""

import torch
from torch import nn

from ...common.layer_norm_2d import LayerNorm2d


class MaskDownsampler(nn.Module):
    """Strided convolutions, each followed by LayerNorm2d and GELU, then a 1 x 1 convolution.

    Each stage divides height and width by ``stride`` and multiplies the channels by
    ``stride ** 2``, so no information is squeezed out on the way down (1 -> 4 -> 16 -> 64 -> 256
    channels for the official stride 2 and total stride 16). The last 1 x 1 convolution maps to
    the width of the image features. Keys are ``encoder.0`` ... ``encoder.{3 * stages}``, as in the
    official checkpoints (norm and activation count as layers of the sequence).

    Args:
        out_channels: channels of the output, the width of the image features.
        kernel_size, stride, padding: those of every strided convolution.
        total_stride: the overall reduction; a whole power of ``stride``.
    """

    def __init__(
        self,
        out_channels: int = 256,
        kernel_size: int = 3,
        stride: int = 2,
        padding: int = 1,
        total_stride: int = 16,
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels, reached = 1, 1
        while reached < total_stride:
            wider = channels * stride**2
            layers += [
                nn.Conv2d(channels, wider, kernel_size, stride=stride, padding=padding),
                LayerNorm2d(wider),
                nn.GELU(),
            ]
            channels, reached = wider, reached * stride
        if reached != total_stride:
            raise ValueError(f"total stride {total_stride} is not a power of the stride {stride}")
        layers.append(nn.Conv2d(channels, out_channels, kernel_size=1))
        self.encoder = nn.Sequential(*layers)

    def forward(self, mask_b1hw: torch.Tensor) -> torch.Tensor:
        """(B, 1, H, W) mask -> (B, out_channels, H / total_stride, W / total_stride) features."""
        return self.encoder(mask_b1hw)
