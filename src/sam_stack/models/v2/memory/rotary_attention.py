"""Multi-head attention whose queries and keys carry rotary position encoding (official RoPEAttention)."""

import torch
from torch.nn import functional as F

from ...common.attention import Attention
from .rotary import rotate


class RotaryAttention(Attention):
    """The shared :class:`Attention` (keys q_proj, k_proj, v_proj, out_proj), plus rotations.

    Queries are the tokens of one grid. Keys are either the same grid (self-attention) or
    several frames of memories of that grid followed by a few tokens with no grid position
    (object pointers), which are left unrotated. Values are never rotated.

    The official RoPEAttention stores its rotation table on itself and rebuilds it when the
    token count changes; here the caller passes the table, so the layers of a stack share one
    table per grid (see :class:`~.rotary.AxialRotaryEncoding`).
    """

    def forward(
        self,
        q_bnc: torch.Tensor,
        k_bmc: torch.Tensor,
        v_bmc: torch.Tensor,
        rotation_nd: torch.Tensor,
        num_unrotated_keys: int = 0,
    ) -> torch.Tensor:
        """Rotary attention of N grid tokens to M keys.

        Args:
            q_bnc: (B, N, C) queries, the tokens of a grid in row-major order.
            k_bmc: (B, M, C_kv) keys: M - num_unrotated_keys grid tokens (a whole number of
                frames of the queries' grid), then num_unrotated_keys unpositioned tokens.
            v_bmc: (B, M, C_kv) values.
            rotation_nd: complex (N, head_dim / 2) rotation table of the queries' grid.
            num_unrotated_keys: how many trailing keys are excluded from rotation (the
                official ``num_k_exclude_rope``).

        Returns:
            (B, N, C) attention output.
        """
        q = rotate(self.split_heads(self.q_proj(q_bnc)), rotation_nd)
        k = self.split_heads(self.k_proj(k_bmc))
        v = self.split_heads(self.v_proj(v_bmc))
        if num_unrotated_keys == 0:
            k = rotate(k, rotation_nd)
        else:
            # Rotating the grid keys in place keeps the trailing ones where they are, no copy.
            k[:, :, :-num_unrotated_keys] = rotate(k[:, :, :-num_unrotated_keys], rotation_nd)
        return self.out_proj(self.merge_heads(F.scaled_dot_product_attention(q, k, v)))
