"""The memory encoder: one frame's image features and mask become a memory (official MemoryEncoder).

A memory is "image-like": a (B, 64, H, W) map on the same grid as the image features, with fewer
channels. It records what the object looked like in that frame and where it was. The mask is
given at the image's resolution (16 x the grid); it is downsampled to the grid, added to a 1 x 1
projection of the image features, mixed by the fuser and projected to the memory width.
"""

import torch
from torch import nn

from ...common.sine_position_encoding import SinePositionEncoding2d
from .architecture import MemoryEncoderArchitecture
from .fuser import Fuser
from .mask_downsampler import MaskDownsampler


class MemoryEncoder(nn.Module):
    """Image features + mask -> memory and its position encoding.

    Keys: ``mask_downsampler.*``, ``pix_feat_proj.*``, ``fuser.*``, ``out_proj.*`` (only when the
    memory is narrower than the image features, as in every released model), like the official
    ``memory_encoder.*`` tensors with the prefix removed. The position encoding has no weights.

    Args:
        architecture: the hyper-parameters; the official ones (same for every v2 / v2.1 size)
            when left out.
    """

    def __init__(self, architecture: MemoryEncoderArchitecture | None = None) -> None:
        super().__init__()
        arch = architecture or MemoryEncoderArchitecture()
        self.mask_downsampler = MaskDownsampler(
            out_channels=arch.image_dim,
            kernel_size=arch.mask_kernel_size,
            stride=arch.mask_stride,
            padding=arch.mask_padding,
            total_stride=arch.mask_total_stride,
        )
        self.pix_feat_proj = nn.Conv2d(arch.image_dim, arch.image_dim, kernel_size=1)
        self.fuser = Fuser(arch.image_dim, arch.fuser_depth, arch.fuser_kernel_size)
        self.out_proj = (
            nn.Identity()
            if arch.memory_dim == arch.image_dim
            else nn.Conv2d(arch.image_dim, arch.memory_dim, kernel_size=1)
        )
        self.position_encoding = SinePositionEncoding2d(arch.memory_dim)

    def forward(
        self, image_features_bchw: torch.Tensor, mask_b1hw: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Encodes one frame's memory.

        Args:
            image_features_bchw: (B, C, H, W) image features (the lowest-resolution level of the
                image encoder, C = 256, H = W = 64 for a 1024-pixel input).
            mask_b1hw: (B, 1, 16 H, 16 W) the mask, already turned from logits into the encoder's
                input range by :func:`~.new_memory.mask_logits_to_memory_input`. The official
                forward applies a plain sigmoid here unless called with
                ``skip_mask_sigmoid=True``; SAM2Base always calls it so, having applied its own
                sigmoid, scale and bias, which is the only path kept here.

        Returns:
            memory_bchw: (B, C_mem, H, W) the memory, C_mem = 64.
            memory_pos_bchw: (B, C_mem, H, W) its sine position encoding; it depends on the grid
                only, and is a broadcast view over the batch: read it, do not write into it.
        """
        mask_features_bchw = self.mask_downsampler(mask_b1hw)
        if mask_features_bchw.shape[-2:] != image_features_bchw.shape[-2:]:
            raise ValueError(
                f"a {tuple(mask_b1hw.shape[-2:])} mask downsamples to "
                f"{tuple(mask_features_bchw.shape[-2:])}, but the image features are "
                f"{tuple(image_features_bchw.shape[-2:])}"
            )
        fused_bchw = self.fuser(self.pix_feat_proj(image_features_bchw) + mask_features_bchw)
        memory_bchw = self.out_proj(fused_bchw)
        return memory_bchw, self.position_encoding(memory_bchw)
