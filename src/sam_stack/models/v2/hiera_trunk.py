"""The Hiera trunk: patch embedding, windowed absolute position embedding, and the blocks.

An image becomes a grid of tokens (one per 4x4 pixels), to which a position embedding is added;
the blocks then turn it into one feature map per stage, each half the size of the one before
(with the official query pooling) and wider.
"""

import torch
from torch import nn
from torch.nn import functional as F

from sam_stack.errors import ImageError
from sam_stack.models.common.in_place import gradients_wanted
from sam_stack.models.v2.architecture import (
    PATCH_KERNEL_SIZE,
    PATCH_PADDING,
    PATCH_STRIDE,
    HieraArchitecture,
)
from sam_stack.models.v2.hiera_blocks import MultiScaleBlock


class PatchEmbedding(nn.Module):
    """A strided convolution from pixels to tokens: (B, 3, H, W) -> (B, H / 4, W / 4, C)."""

    def __init__(self, embed_dim: int) -> None:
        super().__init__()
        self.proj = nn.Conv2d(
            3, embed_dim, kernel_size=PATCH_KERNEL_SIZE, stride=PATCH_STRIDE, padding=PATCH_PADDING
        )

    def forward(self, image_bchw: torch.Tensor) -> torch.Tensor:
        return self.proj(image_bchw).permute(0, 2, 3, 1)


class HieraTrunk(nn.Module):
    """Image -> one feature map per stage, highest resolution first.

    Keys match the official ``Hiera``: ``patch_embed.proj``, ``pos_embed``, ``pos_embed_window``,
    ``blocks.N...``.
    """

    def __init__(self, architecture: HieraArchitecture) -> None:
        super().__init__()
        self.architecture = architecture
        embed_dim = architecture.embed_dim
        window = architecture.window_spec[0]
        self.patch_embed = PatchEmbedding(embed_dim)
        self.pos_embed = nn.Parameter(
            torch.zeros(1, embed_dim, *architecture.window_pos_embed_bkg_spatial_size)
        )
        self.pos_embed_window = nn.Parameter(torch.zeros(1, embed_dim, window, window))
        self.blocks = nn.ModuleList(MultiScaleBlock(spec) for spec in architecture.block_specs())
        self.stage_ends = architecture.stage_ends
        self._cached_position_embedding: tuple[tuple, torch.Tensor] | None = None

    def check_input(self, image_bchw: torch.Tensor) -> None:
        """Raise :class:`ImageError` unless ``image_bchw`` is a (B, 3, H, W) batch of a usable size."""
        if image_bchw.ndim != 4 or image_bchw.shape[1] != 3:
            raise ImageError(
                f"the SAM v2 image encoder takes a (B, 3, H, W) batch of normalised RGB images, "
                f"got a tensor of shape {tuple(image_bchw.shape)}"
            )
        height, width = image_bchw.shape[-2:]
        multiple = self.architecture.input_size_multiple
        if height % multiple or width % multiple or height == 0 or width == 0:
            raise ImageError(
                f"the SAM v2 image encoder needs an image whose height and width are positive "
                f"multiples of {multiple} pixels (patch stride {PATCH_STRIDE} x first window "
                f"{self.architecture.window_spec[0]} tokens, and {self.architecture.q_pool} halvings "
                f"by query pooling), got {height} x {width}; 1024 x 1024 is what the models were "
                f"trained on"
            )

    def position_embedding(self, height: int, width: int) -> torch.Tensor:
        """The position embedding of a ``height`` x ``width`` token grid -> (1, H, W, C).

        A smooth background embedding, resized to the grid with bicubic interpolation, plus a
        window embedding repeated in every first-stage window (Bolya et al. 2023,
        "Window Attention is Bugged"). The official code tiles the window embedding into a full
        grid; adding it through a broadcast view does the same sums without that copy.
        """
        window = self.pos_embed_window.shape[-1]
        channels = self.pos_embed.shape[1]
        background_bchw = F.interpolate(self.pos_embed, size=(height, width), mode="bicubic")
        background_windows = background_bchw.view(
            1, channels, height // window, window, width // window, window
        )
        window_embed = self.pos_embed_window.view(1, channels, 1, window, 1, window)
        pos_bchw = (background_windows + window_embed).view(1, channels, height, width)
        return pos_bchw.permute(0, 2, 3, 1)

    def cached_position_embedding(self, height: int, width: int) -> torch.Tensor:
        """:meth:`position_embedding`, computed once per grid size while the weights stay the same.

        The bicubic resize costs 1-3% of an encoding; the official code redoes it every time.
        The key holds each parameter's storage and version counter, so loading other weights
        (in place or not) or converting the model recomputes it. With gradients wanted it is
        never cached, so that they reach the parameters.
        """
        params = (self.pos_embed, self.pos_embed_window)
        if gradients_wanted(*params):
            return self.position_embedding(height, width)
        key = (
            height,
            width,
            torch.is_autocast_enabled(self.pos_embed.device.type),
            torch.is_inference_mode_enabled(),
            *((p.data_ptr(), p._version, p.dtype, p.device) for p in params),
        )
        if self._cached_position_embedding is None or self._cached_position_embedding[0] != key:
            self._cached_position_embedding = (key, self.position_embedding(height, width))
        return self._cached_position_embedding[1]

    def forward(self, image_bchw: torch.Tensor) -> list[torch.Tensor]:
        """(B, 3, H, W) normalised image -> [(B, C_s, H_s, W_s) for each stage s].

        ``H_0 = H / 4`` and each later stage's grid is halved by query pooling. The maps are
        channel-last in memory (permuted views of the blocks' (B, H, W, C) tokens), as the
        official trunk returns them.
        """
        self.check_input(image_bchw)
        patches_bhwc = self.patch_embed(image_bchw)
        # The official tokens keep the convolution's (B, C, H, W) layout through the first stage.
        # Made (B, H, W, C)-contiguous once here, they let every block write its sums in place
        # (``in_place.add``); the first stage's map is handed on in the official layout, since
        # the neck's convolutions choose their algorithm, and so their rounding, by it.
        tokens_bhwc = (patches_bhwc + self.cached_position_embedding(*patches_bhwc.shape[1:3])).contiguous()

        stage_maps_bchw = []
        for index, block in enumerate(self.blocks):
            tokens_bhwc = block(tokens_bhwc)
            if index in self.stage_ends:
                map_bchw = tokens_bhwc.permute(0, 3, 1, 2)
                stage_maps_bchw.append(map_bchw if stage_maps_bchw else map_bchw.contiguous())
        return stage_maps_bchw
