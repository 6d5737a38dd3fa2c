"""The SAM v2 image encoder: Hiera trunk + FPN neck, as the official ``ImageEncoder``.

For a 1024 x 1024 image and any official size, the output is three levels of 256 channels:
256 x 256 and 128 x 128 (the "high-resolution features" the mask decoder uses when upscaling
masks) and 64 x 64 (the image embedding, the one SAM v1 also has). The trunk's fourth, 32 x 32
level only feeds the 64 x 64 one through the neck and is then dropped (``scalp`` = 1).

What the official ``SAM2Base`` does next is not part of the encoder (it needs the mask decoder's
and the video model's weights): ``forward_image`` passes level 0 through the mask decoder's
``conv_s0`` (256 -> 32 channels) and level 1 through its ``conv_s1`` (256 -> 64 channels), and for
single images the predictor adds ``no_mem_embed`` to every token of the last level.
"""

from typing import NamedTuple

import torch
from torch import nn

from sam_stack.models.v2.architecture import HieraArchitecture
from sam_stack.models.v2.fpn_neck import FpnNeck
from sam_stack.models.v2.hiera_trunk import HieraTrunk


class HieraImageEncoding(NamedTuple):
    """The image encoder's output, named as the official dictionary's entries.

    backbone_fpn: [(B, d_model, H_l, W_l)], finest level first, without the ``scalp`` coarsest.
    vision_pos_enc: the sine position encoding of each of those levels, same shapes; these are
        broadcast views over the batch (read them, do not write into them).
    """

    backbone_fpn: list[torch.Tensor]
    vision_pos_enc: list[torch.Tensor]

    @property
    def vision_features(self) -> torch.Tensor:
        """The coarsest returned level, (B, d_model, H / 16, W / 16) for the official sizes."""
        return self.backbone_fpn[-1]


class HieraImageEncoder(nn.Module):
    """(B, 3, H, W) normalised image -> :class:`HieraImageEncoding`.

    Its state dict keys are the official checkpoint's keys after ``image_encoder.``
    (``trunk.patch_embed.proj.weight``, ``trunk.pos_embed``, ``neck.convs.0.conv.weight``, ...).

    H and W must be multiples of ``architecture.input_size_multiple`` (32 for every official
    size); other sizes raise :class:`sam_stack.errors.ImageError`.
    """

    def __init__(self, architecture: HieraArchitecture) -> None:
        super().__init__()
        self.architecture = architecture
        self.trunk = HieraTrunk(architecture)
        self.neck = FpnNeck(
            architecture.backbone_channel_list,
            architecture.d_model,
            architecture.fpn_top_down_levels,
        )
        self.scalp = architecture.scalp

    def forward(self, image_bchw: torch.Tensor) -> HieraImageEncoding:
        features_bchw = self.neck(self.trunk(image_bchw))
        kept_bchw = features_bchw[: len(features_bchw) - self.scalp]
        # The official neck encodes the positions of all levels before the coarsest are dropped;
        # only the kept ones are computed here.
        positions_bchw = [self.neck.position_encoding(level_bchw) for level_bchw in kept_bchw]
        return HieraImageEncoding(backbone_fpn=kept_bchw, vision_pos_enc=positions_bchw)
