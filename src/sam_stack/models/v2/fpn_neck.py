"""The feature-pyramid neck of the SAM v2 image encoder.

Each stage map of the trunk is brought to ``d_model`` channels by a 1x1 convolution (the
"lateral" path). Going from the coarsest level to the finest, a level listed in
``fpn_top_down_levels`` also adds the level below it (coarser), upsampled 2x with nearest
neighbours; the other levels keep their lateral features only.

The neck also owns the sine position encoding of the levels (where the official neck keeps it),
but leaves computing it to the image encoder, which only does so for the levels it returns.
"""

from collections import OrderedDict

import torch
from torch import nn
from torch.nn import functional as F

from sam_stack.models.common.sine_position_encoding import SinePositionEncoding2d


class FpnNeck(nn.Module):
    """Stage maps -> one ``d_model``-channel feature map per level, finest first.

    Keys match the official ``FpnNeck``: ``convs.N.conv.weight`` and ``.bias``, where
    ``convs.0`` is the lateral convolution of the *coarsest* level (the official order, the same
    as ``backbone_channel_list``).

    Args:
        backbone_channel_list: input channels of each level, coarsest first.
        d_model: output channels of every level.
        fpn_top_down_levels: levels (0 = finest) that add the upsampled coarser level.
    """

    def __init__(
        self,
        backbone_channel_list: tuple[int, ...],
        d_model: int,
        fpn_top_down_levels: tuple[int, ...],
    ) -> None:
        super().__init__()
        self.position_encoding = SinePositionEncoding2d(d_model)
        # A Sequential holding one module named "conv" gives the official key "convs.N.conv".
        self.convs = nn.ModuleList(
            nn.Sequential(OrderedDict(conv=nn.Conv2d(channels, d_model, kernel_size=1)))
            for channels in backbone_channel_list
        )
        self.fpn_top_down_levels = tuple(fpn_top_down_levels)

    def forward(self, stage_maps_bchw: list[torch.Tensor]) -> list[torch.Tensor]:
        """[(B, C_l, H_l, W_l) finest first] -> [(B, d_model, H_l, W_l) finest first]."""
        num_levels = len(self.convs)
        features_bchw: list[torch.Tensor] = [None] * num_levels
        coarser_bchw = None
        for level in reversed(range(num_levels)):
            lateral_bchw = self.convs[num_levels - 1 - level](stage_maps_bchw[level])
            if level in self.fpn_top_down_levels and coarser_bchw is not None:
                upsampled_bchw = F.interpolate(coarser_bchw, scale_factor=2.0, mode="nearest")
                lateral_bchw = lateral_bchw + upsampled_bchw
            features_bchw[level] = lateral_bchw
            coarser_bchw = lateral_bchw
        return features_bchw
