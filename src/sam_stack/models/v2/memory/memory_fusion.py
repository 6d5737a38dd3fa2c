"""Memory-image fusion: the current frame's image tokens read the memory bank (official MemoryAttention).

Before the mask decoder sees a frame that has no prompt of its own, its image features attend to
the memories of earlier frames (what the object looked like, and where) and to object pointers
(compact summaries of the object from the decoder). The result, image features "conditioned on
memory", replaces the plain image features as the decoder's input, so the memories act as the
prompt.

Every released SAM v2 / v2.1 checkpoint uses the same settings here, and this module implements
exactly them (``sam2/configs/sam2*/sam2*_hiera_*.yaml``, ``memory_attention``):

- ``pos_enc_at_input: true``: 0.1 x the image position encoding is added to the image tokens
  once, before the first layer; the layers themselves never add it
  (``pos_enc_at_attn: false``, ``pos_enc_at_cross_attn_queries: false``);
- ``pos_enc_at_cross_attn_keys: true``: the memory position encoding (spatial sine encoding
  plus temporal encoding, prepared by the caller) is added to the memory before it becomes
  keys, never to the values;
- self- and cross-attention are rotary (RoPEAttention, theta 10000), the cross-attention with
  ``rope_k_repeat`` (each memory frame rotated like the image grid) and object-pointer tokens
  excluded from rotation;
- pre-norm residual blocks, a ReLU feed-forward, a final LayerNorm;
- dropout 0.1, which does nothing at inference and is left out here.
"""

import torch
from torch import nn
from torch.nn import functional as F

from .architecture import MemoryFusionArchitecture
from .rotary import AxialRotaryEncoding
from .rotary_attention import RotaryAttention

# With ``pos_enc_at_input`` the official code adds the image position encoding, scaled by this
# constant, to the image tokens before the first layer.
INPUT_POSITION_SCALE = 0.1


class MemoryFusionLayer(nn.Module):
    """Self-attention of the image tokens, cross-attention to the memory, feed-forward.

    Each step reads a LayerNorm of the tokens and adds its output back (pre-norm residual).
    Parameter names are the official ones (self_attn, cross_attn_image, linear1, linear2,
    norm1..3).
    """

    def __init__(self, dim: int, memory_dim: int, num_heads: int, feedforward_dim: int) -> None:
        super().__init__()
        self.self_attn = RotaryAttention(dim, num_heads)
        self.cross_attn_image = RotaryAttention(dim, num_heads, kv_in_dim=memory_dim)
        self.linear1 = nn.Linear(dim, feedforward_dim)
        self.linear2 = nn.Linear(feedforward_dim, dim)
        self.norm1 = nn.LayerNorm(dim)
        self.norm2 = nn.LayerNorm(dim)
        self.norm3 = nn.LayerNorm(dim)

    def forward(
        self,
        tokens_bnc: torch.Tensor,
        memory_keys_bmc: torch.Tensor,
        memory_values_bmc: torch.Tensor,
        rotation_nd: torch.Tensor,
        num_object_pointer_tokens: int,
    ) -> torch.Tensor:
        """(B, N, C) image tokens, (B, M, C_mem) memory keys and values -> (B, N, C) tokens."""
        normed = self.norm1(tokens_bnc)
        tokens_bnc = tokens_bnc + self.self_attn(normed, normed, normed, rotation_nd)
        normed = self.norm2(tokens_bnc)
        tokens_bnc = tokens_bnc + self.cross_attn_image(
            normed, memory_keys_bmc, memory_values_bmc, rotation_nd, num_object_pointer_tokens
        )
        normed = self.norm3(tokens_bnc)
        return tokens_bnc + self.linear2(F.relu(self.linear1(normed)))


class MemoryFusion(nn.Module):
    """A stack of :class:`MemoryFusionLayer` and a final LayerNorm (keys ``layers.N.*``, ``norm.*``).

    Load the official ``memory_attention.*`` tensors into it (prefix removed) with
    ``load_state_dict(..., strict=True)``.

    Args:
        architecture: the hyper-parameters; the official ones (same for every v2 / v2.1 size)
            when left out.
    """

    def __init__(self, architecture: MemoryFusionArchitecture | None = None) -> None:
        super().__init__()
        arch = architecture or MemoryFusionArchitecture()
        self.layers = nn.ModuleList(
            MemoryFusionLayer(arch.dim, arch.memory_dim, arch.num_heads, arch.feedforward_dim)
            for _ in range(arch.depth)
        )
        self.norm = nn.LayerNorm(arch.dim)
        # Self- and cross-attention have the same head width, so one table per grid serves both
        # in every layer.
        self.rotary = AxialRotaryEncoding(arch.dim // arch.num_heads, arch.rope_theta)

    def forward(
        self,
        image_bchw: torch.Tensor,
        image_pos_bchw: torch.Tensor,
        memory_bmc: torch.Tensor,
        memory_pos_bmc: torch.Tensor,
        num_object_pointer_tokens: int = 0,
    ) -> torch.Tensor:
        """Fuses the memory bank into one frame's image features.

        Args:
            image_bchw: (B, C, H, W) image features of the current frame (the lowest-resolution
                level of the image encoder, C = 256).
            image_pos_bchw: (B, C, H, W) their sine position encoding (from the image encoder).
            memory_bmc: (B, M, C_mem) the memory sequence, C_mem = 64: first the spatial
                memories of F frames, each an H x W grid flattened row-major (M_s = F * H * W
                tokens), then ``num_object_pointer_tokens`` object-pointer tokens.
            memory_pos_bmc: (B, M, C_mem) position encoding of every memory token (spatial plus
                temporal for the memories, temporal for the pointers).
            num_object_pointer_tokens: P, the number of trailing pointer tokens; they get no
                rotary encoding since they have no place on the grid.

        Returns:
            (B, C, H, W) image features conditioned on the memory, for the mask decoder. It is a
            view of channels-last data (the official output is laid out the same way).
        """
        batch, channels, height, width = image_bchw.shape
        rotation_nd = self.rotary.table(height, width, image_bchw.device)

        tokens_bchw = image_bchw + INPUT_POSITION_SCALE * image_pos_bchw
        # One copy to channels-last, so that every layer works on contiguous (B, N, C) tokens.
        tokens_bnc = tokens_bchw.flatten(2).transpose(1, 2).contiguous()
        memory_keys_bmc = memory_bmc + memory_pos_bmc
        for layer in self.layers:
            tokens_bnc = layer(
                tokens_bnc, memory_keys_bmc, memory_bmc, rotation_nd, num_object_pointer_tokens
            )
        fused_bnc = self.norm(tokens_bnc)
        return fused_bnc.transpose(1, 2).reshape(batch, channels, height, width)
