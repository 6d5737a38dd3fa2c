"""The transformer block of Hiera: (windowed) attention that can pool its queries, then an MLP.

A block works on a (B, H, W, C) token grid. The first block of a stage (after the first) widens
the channels and, with query pooling, halves the grid: its queries are max-pooled before the
attention, so it returns one token per 2x2 input tokens, and its shortcut is projected to the new
width and pooled the same way.
"""

import torch
from torch import nn
from torch.nn import functional as F

from sam_stack.models.common.in_place import add
from sam_stack.models.common.mlp import MLP
from sam_stack.models.v2.architecture import MLP_RATIO, HieraBlockSpec
from sam_stack.models.common.windows import merge_windows, partition_windows


def max_pool_bhwc(tokens_bhwc: torch.Tensor, stride: int) -> torch.Tensor:
    """(B, H, W, C) -> (B, H // stride, W // stride, C), the maximum of each stride x stride cell."""
    # Seen as (B, C, H, W), a dense (B, H, W, C) tensor is "channels last", which max_pool2d reads
    # fast; a strided slice (the queries inside the qkv output) takes a path several times slower
    # than making it dense first.
    tokens_bhwc = tokens_bhwc.contiguous()
    pooled_bchw = F.max_pool2d(tokens_bhwc.permute(0, 3, 1, 2), kernel_size=stride, stride=stride)
    return pooled_bchw.permute(0, 2, 3, 1)


class MultiScaleAttention(nn.Module):
    """Multi-head self-attention over a (B, H, W, C) grid whose queries may be max-pooled.

    With ``q_stride`` the output has the pooled grid's size: each output token attends to all
    tokens of the input (of its window, when the caller windows the grid).
    """

    def __init__(self, dim: int, dim_out: int, num_heads: int, q_stride: int = 0) -> None:
        super().__init__()
        self.dim_out = dim_out
        self.num_heads = num_heads
        self.q_stride = q_stride
        self.qkv = nn.Linear(dim, 3 * dim_out)
        self.proj = nn.Linear(dim_out, dim_out)

    def forward(self, tokens_bhwc: torch.Tensor) -> torch.Tensor:
        """(B, H, W, dim) -> (B, H', W', dim_out), H' = H // q_stride (or H without pooling)."""
        batch, height, width, _ = tokens_bhwc.shape
        head_dim = self.dim_out // self.num_heads
        qkv_bhwc = self.qkv(tokens_bhwc)
        # The last axis holds q, k, v one after the other, each split into heads.
        q_bhwc, k_bhwc, v_bhwc = qkv_bhwc.split(self.dim_out, dim=-1)
        if self.q_stride:
            q_bhwc = max_pool_bhwc(q_bhwc, self.q_stride)
        out_height, out_width = q_bhwc.shape[1:3]
        q_bnld = q_bhwc.reshape(batch, out_height * out_width, self.num_heads, head_dim).transpose(1, 2)
        k_bnld = k_bhwc.reshape(batch, height * width, self.num_heads, head_dim).transpose(1, 2)
        v_bnld = v_bhwc.reshape(batch, height * width, self.num_heads, head_dim).transpose(1, 2)
        attended_bnld = F.scaled_dot_product_attention(q_bnld, k_bnld, v_bnld)
        attended_bhwc = attended_bnld.transpose(1, 2).reshape(batch, out_height, out_width, self.dim_out)
        return self.proj(attended_bhwc)


class MultiScaleBlock(nn.Module):
    """One Hiera block: pre-norm attention (windowed or global) and pre-norm MLP, with residuals.

    Keys match the official ``MultiScaleBlock``: ``norm1``, ``attn.qkv``, ``attn.proj``,
    ``norm2``, ``mlp.layers.{0,1}`` and, when the width changes, ``proj`` for the shortcut.
    """

    def __init__(self, spec: HieraBlockSpec) -> None:
        super().__init__()
        self.window_size = spec.window_size
        self.q_stride = spec.q_stride
        self.norm1 = nn.LayerNorm(spec.dim, eps=1e-6)
        self.attn = MultiScaleAttention(spec.dim, spec.dim_out, spec.num_heads, spec.q_stride)
        self.norm2 = nn.LayerNorm(spec.dim_out, eps=1e-6)
        self.mlp = MLP(spec.dim_out, int(spec.dim_out * MLP_RATIO), spec.dim_out, 2, activation=nn.GELU)
        self.proj = nn.Linear(spec.dim, spec.dim_out) if spec.dim != spec.dim_out else None

    def forward(self, tokens_bhwc: torch.Tensor) -> torch.Tensor:
        """(B, H, W, dim) -> (B, H', W', dim_out), H' = H // q_stride (or H without pooling)."""
        normed_bhwc = self.norm1(tokens_bhwc)

        shortcut_bhwc = tokens_bhwc
        if self.proj is not None:
            # The widened shortcut is projected from the normalised tokens, as in the official code.
            shortcut_bhwc = self.proj(normed_bhwc)
            if self.q_stride:
                shortcut_bhwc = max_pool_bhwc(shortcut_bhwc, self.q_stride)

        if self.window_size:
            windows_bhwc, padded_hw = partition_windows(normed_bhwc, self.window_size)
            attended_windows_bhwc = self.attn(windows_bhwc)
            # Pooling shrinks each window, and so the padded grid they tile, by the stride.
            stride = self.q_stride or 1
            pooled_padded_hw = (padded_hw[0] // stride, padded_hw[1] // stride)
            attended_bhwc = merge_windows(attended_windows_bhwc, pooled_padded_hw, shortcut_bhwc.shape[1:3])
        else:
            attended_bhwc = self.attn(normed_bhwc)

        tokens_bhwc = add(shortcut_bhwc, attended_bhwc, into=attended_bhwc)
        mlp_bhwc = self.mlp(self.norm2(tokens_bhwc))
        return add(tokens_bhwc, mlp_bhwc, into=mlp_bhwc)
