"""Random Fourier features for 2-D positions (Tancik et al. 2020), shared by v1 and v2 prompts."""

import math

import torch
from torch import nn


class RandomFourierPositionEncoding(nn.Module):
    """Maps (x, y) in [0, 1] to ``2 * num_features`` sines and cosines of random projections.

    The projection matrix is a buffer named ``positional_encoding_gaussian_matrix`` (2, F), as in
    the official checkpoints, so the same encoding is reproduced exactly.
    """

    def __init__(self, num_features: int = 128) -> None:
        super().__init__()
        self.register_buffer("positional_encoding_gaussian_matrix", torch.randn(2, num_features))

    def encode(self, xy_normalized: torch.Tensor) -> torch.Tensor:
        """(..., 2) positions in [0, 1] -> (..., 2F) features."""
        centered = 2 * xy_normalized - 1
        projected = 2 * math.pi * (centered @ self.positional_encoding_gaussian_matrix)
        return torch.cat([torch.sin(projected), torch.cos(projected)], dim=-1)

    def encode_pixels(self, xy: torch.Tensor, width: int, height: int) -> torch.Tensor:
        """(..., 2) positions in pixels of a ``width`` x ``height`` input -> (..., 2F) features.

        Positions may be float64 (SAM v1's automatic mask generator keeps its grid in float64):
        they are normalised in their own dtype, then encoded in the projection's dtype.
        """
        scale = xy.new_tensor([width, height])
        return self.encode((xy / scale).to(self.positional_encoding_gaussian_matrix.dtype))

    def grid(self, height: int, width: int) -> torch.Tensor:
        """Encodings of the centres of a ``height`` x ``width`` grid of cells -> (2F, H, W)."""
        matrix = self.positional_encoding_gaussian_matrix
        ys = (torch.arange(height, device=matrix.device, dtype=matrix.dtype) + 0.5) / height
        xs = (torch.arange(width, device=matrix.device, dtype=matrix.dtype) + 0.5) / width
        xy_hw2 = torch.stack(torch.meshgrid(xs, ys, indexing="xy"), dim=-1)
        return self.encode(xy_hw2).permute(2, 0, 1)
