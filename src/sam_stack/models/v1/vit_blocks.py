"""The transformer blocks of the SAM v1 image encoder: windowed or global attention on a token grid."""

import torch
from torch import nn

from ..common.in_place import add, softmax
from ..common.mlp import FeedForward
from ..common.windows import merge_windows, partition_windows
from .relative_position import add_relative_position_bias


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
        # Logits formed explicitly, as the official code does: on the CPU, adding the bias in place
        # and a plain softmax take half the time of the fused kernel given the bias as a mask.
        logits_bnn = (q * q.shape[-1] ** -0.5) @ k.transpose(1, 2)
        add_relative_position_bias(logits_bnn, q, self.rel_pos_h, self.rel_pos_w, (height, width))
        out = softmax(logits_bnn, dim=-1) @ v
        out = out.view(batch, heads, height, width, -1).permute(0, 2, 3, 1, 4).reshape(batch, height, width, dim)
        return self.proj(out)


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
            windows, padded = partition_windows(x, self.window)
            x = merge_windows(self.attn(windows), padded, x.shape[1:3])
        else:
            x = self.attn(x)
        tokens_bhwc = add(tokens_bhwc, x, into=x)
        mlp_bhwc = self.mlp(self.norm2(tokens_bhwc))
        return add(tokens_bhwc, mlp_bhwc, into=mlp_bhwc)
