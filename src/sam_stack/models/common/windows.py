"""Cutting a (B, H, W, C) token grid into square windows for local attention, and back.

A grid that is not a whole number of windows is zero-padded at the bottom and right first, as in
the official code; the padded tokens take part in the attention of their windows and are cut
off again when the windows are merged.
"""

import torch
from torch.nn import functional as F


def partition_windows(tokens_bhwc: torch.Tensor, window_size: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """(B, H, W, C) -> ((B * nH * nW, window, window, C), (padded H, padded W)).

    Windows are ordered image by image, then row by row, then column by column.
    """
    batch, height, width, channels = tokens_bhwc.shape
    pad_h = -height % window_size
    pad_w = -width % window_size
    if pad_h or pad_w:
        tokens_bhwc = F.pad(tokens_bhwc, (0, 0, 0, pad_w, 0, pad_h))
    rows, cols = (height + pad_h) // window_size, (width + pad_w) // window_size
    windows_bhwc = (
        tokens_bhwc.view(batch, rows, window_size, cols, window_size, channels)
        .transpose(2, 3)
        .reshape(batch * rows * cols, window_size, window_size, channels)
    )
    return windows_bhwc, (height + pad_h, width + pad_w)


def merge_windows(
    windows_bhwc: torch.Tensor,
    padded_hw: tuple[int, int],
    hw: tuple[int, int],
) -> torch.Tensor:
    """Inverse of :func:`partition_windows`: (B * nH * nW, window, window, C) -> (B, H, W, C).

    ``padded_hw`` is the size of the padded grid the windows tile; ``hw`` is the size to cut it
    back to.
    """
    window_size, channels = windows_bhwc.shape[1], windows_bhwc.shape[3]
    rows, cols = padded_hw[0] // window_size, padded_hw[1] // window_size
    batch = windows_bhwc.shape[0] // (rows * cols)
    tokens_bhwc = (
        windows_bhwc.reshape(batch, rows, cols, window_size, window_size, channels)
        .transpose(2, 3)
        .reshape(batch, padded_hw[0], padded_hw[1], channels)
    )
    height, width = hw
    if (height, width) != tuple(padded_hw):
        tokens_bhwc = tokens_bhwc[:, :height, :width]
    return tokens_bhwc
