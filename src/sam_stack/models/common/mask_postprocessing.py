"""Turning the decoder's low-resolution logits into logits at an image's own size."""

import torch
from torch.nn import functional as F


def upscale_from_padded_input(
    logits_bkhw: torch.Tensor, model_input_size: int, input_size: tuple[int, int], image_size: tuple[int, int]
) -> torch.Tensor:
    """For images that were resized and then padded to a square (v1): upscale to the square,
    cut the padding off, then resize to the image's (H, W). (B, K, 256, 256) -> (B, K, H, W)."""
    square = F.interpolate(logits_bkhw, (model_input_size, model_input_size), mode="bilinear", align_corners=False)
    unpadded = square[..., : input_size[0], : input_size[1]]
    return F.interpolate(unpadded, image_size, mode="bilinear", align_corners=False)


def upscale_from_square_input(logits_bkhw: torch.Tensor, image_size: tuple[int, int]) -> torch.Tensor:
    """For images that were stretched to a square (v2): one resize to (H, W)."""
    return F.interpolate(logits_bkhw, image_size, mode="bilinear", align_corners=False)
