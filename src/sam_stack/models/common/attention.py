"""Multi-head attention with separate query, key and value projections (SAM's decoder attention)."""

import torch
from torch import nn
from torch.nn import functional as F


class Attention(nn.Module):
    """Attention whose projections may shrink the width (``downsample_rate``) to save compute.

    The cross-attention layers of the two-way transformer use half the width; the v2 memory
    attention reads keys and values of another width (``kv_in_dim``). Parameter names (q_proj,
    k_proj, v_proj, out_proj) are those of the official checkpoints.
    """

    def __init__(
        self,
        embedding_dim: int,
        num_heads: int,
        downsample_rate: int = 1,
        kv_in_dim: int | None = None,
    ) -> None:
        super().__init__()
        internal_dim = embedding_dim // downsample_rate
        if internal_dim % num_heads:
            raise ValueError(f"{num_heads} heads do not divide the attention width {internal_dim}")
        kv_in_dim = embedding_dim if kv_in_dim is None else kv_in_dim
        self.num_heads = num_heads
        self.q_proj = nn.Linear(embedding_dim, internal_dim)
        self.k_proj = nn.Linear(kv_in_dim, internal_dim)
        self.v_proj = nn.Linear(kv_in_dim, internal_dim)
        self.out_proj = nn.Linear(internal_dim, embedding_dim)

    def split_heads(self, x_bnc: torch.Tensor) -> torch.Tensor:
        """(B, N, C) -> (B, heads, N, C / heads)."""
        batch, tokens, channels = x_bnc.shape
        return x_bnc.view(batch, tokens, self.num_heads, channels // self.num_heads).transpose(1, 2)

    @staticmethod
    def merge_heads(x_bhnc: torch.Tensor) -> torch.Tensor:
        """(B, heads, N, C / heads) -> (B, N, C)."""
        batch, heads, tokens, channels = x_bhnc.shape
        return x_bhnc.transpose(1, 2).reshape(batch, tokens, heads * channels)

    def forward(self, q_bnc: torch.Tensor, k_bmc: torch.Tensor, v_bmc: torch.Tensor) -> torch.Tensor:
        """Queries (B, N, C) attend to keys/values (B, M, C_kv); returns (B, N, C). Either side
        may have batch 1, shared by every entry of the other."""
        q = self.split_heads(self.q_proj(q_bnc))
        k = self.split_heads(self.k_proj(k_bmc))
        v = self.split_heads(self.v_proj(v_bmc))
        # A side with batch 1 (the image shared by all prompts) is projected once, then broadcast.
        batch = max(q.shape[0], k.shape[0])
        q, k, v = (x.expand(batch, -1, -1, -1) for x in (q, k, v))
        return self.out_proj(self.merge_heads(F.scaled_dot_product_attention(q, k, v)))
