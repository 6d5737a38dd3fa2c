"""The transformer blocks of the SAM v1 image encoder: windowed or global attention on a token grid."""

import torch
from torch import nn
from torch.nn import functional as F

from ..common.mlp import FeedForward
from .relative_position import relative_position_bias


class GridAttention(nn.Module):
    """Multi-head self-attention over a (B, H, W, C) token grid with a decomposed relative
    position bias. ``grid_size`` is the grid the position tables were made for (the window, or
    the whole image for global blocks)."""

    def __init__(self, dim: int, num_heads: int, grid_size: tuple[int, int]) -> None:
        super().__init__()
        self.num_heads = num_heads
        head_dim = dim // num_heads
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)
        self.rel_pos_h = nn.Parameter(torch.zeros(2 * grid_size[0] - 1, head_dim))
        self.rel_pos_w = nn.Parameter(torch.zeros(2 * grid_size[1] - 1, head_dim))

    def forward(self, tokens_bhwc: torch.Tensor) -> torch.Tensor:
        batch, height, width, dim = tokens_bhwc.shape
        heads = self.num_heads
        # (3, B * heads, N, C / heads): every head becomes its own batch entry.
        qkv = self.qkv(tokens_bhwc).reshape(batch, height * width, 3, heads, -1).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.reshape(3, batch * heads, height * width, -1).unbind(0)
        bias = relative_position_bias(q, self.rel_pos_h, self.rel_pos_w, (height, width))
        # The official code forms the logits explicitly; the fused kernel adds the same bias to
        # the scaled logits and is faster and lighter on memory.
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias)
        out = out.view(batch, heads, height, width, -1).permute(0, 2, 3, 1, 4).reshape(batch, height, width, dim)
        return self.proj(out)


def split_windows(tokens_bhwc: torch.Tensor, window: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """(B, H, W, C) -> (B * nH * nW, window, window, C), zero-padding H and W up to multiples of
    ``window``; also returns the padded size."""
    batch, height, width, channels = tokens_bhwc.shape
    pad_h, pad_w = -height % window, -width % window
    if pad_h or pad_w:
        tokens_bhwc = F.pad(tokens_bhwc, (0, 0, 0, pad_w, 0, pad_h))
    padded = (height + pad_h, width + pad_w)
    windows = tokens_bhwc.view(batch, padded[0] // window, window, padded[1] // window, window, channels)
    return windows.permute(0, 1, 3, 2, 4, 5).reshape(-1, window, window, channels), padded


def merge_windows(windows: torch.Tensor, window: int, padded: tuple[int, int], size: tuple[int, int]) -> torch.Tensor:
    """Inverse of :func:`split_windows`: back to (B, H, W, C), padding removed."""
    rows, cols = padded[0] // window, padded[1] // window
    channels = windows.shape[-1]
    grid = windows.view(-1, rows, cols, window, window, channels).permute(0, 1, 3, 2, 4, 5)
    grid = grid.reshape(-1, padded[0], padded[1], channels)
    return grid[:, : size[0], : size[1]]


class ViTBlock(nn.Module):
    """Pre-norm transformer block; attention runs within ``window`` x ``window`` windows, or over
    the whole grid when ``window`` is 0."""

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float, window: int, grid_size: tuple[int, int]) -> None:
        super().__init__()
        self.window = window
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = GridAttention(dim, num_heads, (window, window) if window else grid_size)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = FeedForward(dim, int(dim * mlp_ratio))

    def forward(self, tokens_bhwc: torch.Tensor) -> torch.Tensor:
        x = self.norm1(tokens_bhwc)
        if self.window:
            size = x.shape[1:3]
            windows, padded = split_windows(x, self.window)
            x = merge_windows(self.attn(windows), self.window, padded, size)
        else:
            x = self.attn(x)
        tokens_bhwc = tokens_bhwc + x
        return tokens_bhwc + self.mlp(self.norm2(tokens_bhwc))
