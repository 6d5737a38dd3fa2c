"""The SAM v1 image encoder: a plain ViT over 16x16 patches and a neck down to 256 channels."""

import torch
from torch import nn

from ..common.layer_norm_2d import LayerNorm2d
from .architecture import VitArchitecture
from .vit_blocks import ViTBlock


class PatchEmbedding(nn.Module):
    """(B, 3, H, W) image -> (B, H / p, W / p, C) tokens, one per non-overlapping p x p patch."""

    def __init__(self, patch_size: int, embed_dim: int) -> None:
        super().__init__()
        self.proj = nn.Conv2d(3, embed_dim, kernel_size=patch_size, stride=patch_size)

    def forward(self, image_bchw: torch.Tensor) -> torch.Tensor:
        return self.proj(image_bchw).permute(0, 2, 3, 1)


class VitImageEncoder(nn.Module):
    """Image (B, 3, S, S), normalised and padded -> features (B, 256, S / 16, S / 16).

    Most blocks attend within 14 x 14 windows; a few, evenly spaced, attend globally.
    """

    def __init__(self, arch: VitArchitecture) -> None:
        super().__init__()
        self.arch = arch
        grid = arch.image_size // arch.patch_size
        self.patch_embed = PatchEmbedding(arch.patch_size, arch.embed_dim)
        # One learned absolute position per patch of the full-size input.
        self.pos_embed = nn.Parameter(torch.zeros(1, grid, grid, arch.embed_dim))
        self.blocks = nn.ModuleList(
            ViTBlock(
                arch.embed_dim,
                arch.num_heads,
                arch.mlp_ratio,
                window=0 if i in arch.global_attn_indexes else arch.window_size,
                grid_size=(grid, grid),
            )
            for i in range(arch.depth)
        )
        self.neck = nn.Sequential(
            nn.Conv2d(arch.embed_dim, arch.out_chans, kernel_size=1, bias=False),
            LayerNorm2d(arch.out_chans),
            nn.Conv2d(arch.out_chans, arch.out_chans, kernel_size=3, padding=1, bias=False),
            LayerNorm2d(arch.out_chans),
        )

    def forward(self, image_bchw: torch.Tensor) -> torch.Tensor:
        tokens_bhwc = self.patch_embed(image_bchw) + self.pos_embed
        for block in self.blocks:
            tokens_bhwc = block(tokens_bhwc)
        return self.neck(tokens_bhwc.permute(0, 3, 1, 2))
