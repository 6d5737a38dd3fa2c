"""Decomposed relative position bias of the SAM v1 ViT (MViTv2, Li et al. 2022).

Instead of one learned bias per pair of tokens, the attention logit between a query at (y, x)
and a key at (y', x') gets q . R_h[y - y'] + q . R_w[x - x'], with one learned table per axis.
"""

import torch
from torch.nn import functional as F


def relative_table(table_dc: torch.Tensor, q_size: int, k_size: int) -> torch.Tensor:
    """Gathers a learned (2L - 1, C) table into the (q_size, k_size, C) bias for each offset.

    A table trained for another length is linearly resized first, as the official code does when
    a checkpoint is used at another input size.
    """
    needed = 2 * max(q_size, k_size) - 1
    if table_dc.shape[0] != needed:
        table_dc = F.interpolate(table_dc.T[None], size=needed, mode="linear")[0].T
    # Offsets are scaled when query and key grids differ in size, so both span the same range.
    q_coords = torch.arange(q_size, device=table_dc.device)[:, None] * max(k_size / q_size, 1.0)
    k_coords = torch.arange(k_size, device=table_dc.device)[None, :] * max(q_size / k_size, 1.0)
    offsets = (q_coords - k_coords) + (k_size - 1) * max(q_size / k_size, 1.0)
    return table_dc[offsets.long()]


def add_relative_position_bias(
    logits_bnn: torch.Tensor, q_bnc: torch.Tensor, table_h: torch.Tensor, table_w: torch.Tensor, grid: tuple[int, int]
) -> torch.Tensor:
    """Adds the bias to attention logits (B, N, N) in place, for N = h * w tokens of (unscaled)
    queries ``q_bnc``; returns the logits.

    ``q_bnc`` holds one attention head per batch entry, as the ViT attention lays them out. The
    two terms are broadcast into the logits rather than formed as an (N, N) bias first, which on
    the global blocks (N = 4096) would be another logits-sized tensor to write and read.
    """
    height, width = grid
    batch, _, channels = q_bnc.shape
    q_bhwc = q_bnc.reshape(batch, height, width, channels)
    along_h = torch.einsum("bhwc,hkc->bhwk", q_bhwc, relative_table(table_h, height, height))
    along_w = torch.einsum("bhwc,wkc->bhwk", q_bhwc, relative_table(table_w, width, width))
    logits_bhwhw = logits_bnn.view(batch, height, width, height, width)
    logits_bhwhw.add_(along_h[:, :, :, :, None]).add_(along_w[:, :, :, None, :])
    return logits_bnn
