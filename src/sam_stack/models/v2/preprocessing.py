"""From an 8-bit RGB image to the normalised tensor the SAM v2 image encoder takes.

The official ``SAM2Transforms`` (used by the image and video predictors) scales the image to
[0, 1] (``ToTensor``), stretches it to the model's square input with an antialiased bilinear
resize of those float values (torchvision's ``Resize`` on a tensor), then normalises it with the
ImageNet mean and standard deviation in [0, 1] units. Unlike SAM v1 there is no padding: the
aspect ratio is not kept.
"""

import numpy as np
import torch
from torch.nn import functional as F

# ImageNet statistics in [0, 1] units, as ``SAM2Transforms`` uses.
PIXEL_MEAN = (0.485, 0.456, 0.406)
PIXEL_STD = (0.229, 0.224, 0.225)


def to_model_input(rgb_hw3: np.ndarray, input_hw: tuple[int, int], device: torch.device) -> torch.Tensor:
    """(H, W, 3) uint8 image -> (1, 3, h, w) float32 normalised image, resized to ``input_hw``."""
    image_chw = torch.from_numpy(rgb_hw3).to(device).permute(2, 0, 1).to(torch.float32).div(255)
    resized_1chw = F.interpolate(
        image_chw[None], size=tuple(input_hw), mode="bilinear", align_corners=False, antialias=True
    )
    mean = torch.tensor(PIXEL_MEAN, device=device).view(1, 3, 1, 1)
    std = torch.tensor(PIXEL_STD, device=device).view(1, 3, 1, 1)
    return (resized_1chw - mean) / std
