"""Fixed sine/cosine position encoding of a 2-D grid (DETR style), used by SAM v2.

SAM v2 encodes the position of every cell of a feature map with sines and cosines of its
normalised row and column: the FPN neck of the image encoder does it for each output level and
the memory encoder does it for each memory. The encoding depends only on the grid's height and
width, so it has no parameters and is cached per (height, width, device, dtype).
"""

import math

import torch
from torch import nn


class SinePositionEncoding2d(nn.Module):
    """Maps each cell of an H x W grid to ``num_pos_feats`` channels of sines and cosines.

    The first half of the channels encodes the row (y), the second half the column (x), as the
    official ``PositionEmbeddingSine`` does. Within each half, channel pairs ``(2k, 2k + 1)`` hold
    ``sin(p / f_k)`` and ``cos(p / f_k)`` with ``f_k = temperature ** (4k / num_pos_feats)``.

    Positions run 1 ... H (and 1 ... W); with ``normalize`` they are divided by the last one
    (plus 1e-6, as the official code does) and multiplied by ``scale`` (2 pi by default), so they
    span (0, 2 pi] whatever the size of the grid.

    Args:
        num_pos_feats: number of output channels (even; half for y, half for x).
        temperature: base of the geometric progression of wavelengths.
        normalize: whether positions are normalised to (0, scale].
        scale: the length of the normalised range; only allowed with ``normalize``.
    """

    def __init__(
        self,
        num_pos_feats: int,
        temperature: float = 10000,
        normalize: bool = True,
        scale: float | None = None,
    ) -> None:
        super().__init__()
        if num_pos_feats % 4 != 0:
            # Each of y and x gets half the channels, and each half is made of (sin, cos) pairs.
            raise ValueError(f"num_pos_feats must be a multiple of 4, got {num_pos_feats}")
        if scale is not None and not normalize:
            raise ValueError("scale is only used with normalize=True")
        self.num_pos_feats = num_pos_feats
        self.temperature = temperature
        self.normalize = normalize
        self.scale = 2 * math.pi if scale is None else scale
        self._cache: dict[tuple, torch.Tensor] = {}

    def forward(self, x_bchw: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) feature map -> (B, num_pos_feats, H, W) encoding in ``x_bchw``'s dtype.

        Only the shape, device and dtype of ``x_bchw`` are used. The result is a broadcast view
        of one cached (num_pos_feats, H, W) tensor over the batch: read it, do not write into it.
        """
        batch, _, height, width = x_bchw.shape
        pos_chw = self.grid(height, width, x_bchw.device, x_bchw.dtype)
        return pos_chw.unsqueeze(0).expand(batch, -1, -1, -1)

    def grid(
        self,
        height: int,
        width: int,
        device: torch.device | str = "cpu",
        dtype: torch.dtype = torch.float32,
    ) -> torch.Tensor:
        """The encoding of a ``height`` x ``width`` grid -> (num_pos_feats, H, W), cached."""
        key = (height, width, torch.device(device), dtype)
        if key not in self._cache:
            self._cache[key] = self._compute(height, width, torch.device(device)).to(dtype)
        return self._cache[key]

    @torch.no_grad()
    def _compute(self, height: int, width: int, device: torch.device) -> torch.Tensor:
        """The encoding computed in float32 -> (num_pos_feats, H, W)."""
        y_positions = torch.arange(1, height + 1, dtype=torch.float32, device=device)
        x_positions = torch.arange(1, width + 1, dtype=torch.float32, device=device)
        if self.normalize:
            eps = 1e-6
            y_positions = y_positions / (y_positions[-1] + eps) * self.scale
            x_positions = x_positions / (x_positions[-1] + eps) * self.scale

        y_features_hc = self._sin_cos(y_positions)
        x_features_wc = self._sin_cos(x_positions)
        half = self.num_pos_feats // 2
        y_chw = y_features_hc.t()[:, :, None].expand(half, height, width)
        x_chw = x_features_wc.t()[:, None, :].expand(half, height, width)
        return torch.cat([y_chw, x_chw], dim=0)

    def _sin_cos(self, positions_n: torch.Tensor) -> torch.Tensor:
        """(N,) positions -> (N, num_pos_feats / 2) interleaved sin, cos of each frequency."""
        half = self.num_pos_feats // 2
        # The official code builds one wavelength per channel, temperature ** (2 * (i // 2) / half),
        # then keeps the sine of the even channels and the cosine of the odd ones; both channels
        # of a pair share a wavelength, so one wavelength per pair gives the same numbers.
        channel_index = torch.arange(half, dtype=torch.float32, device=positions_n.device)
        wavelengths = self.temperature ** (2 * (channel_index // 2) / half)
        angles_nc = positions_n[:, None] / wavelengths[0::2]
        return torch.stack([angles_nc.sin(), angles_nc.cos()], dim=2).flatten(1)
