"""Crop boxes for multi-scale automatic masks, and moving results from a crop back to the image.

Layer 0 is the whole image. Layer i (i >= 1) tiles the image with 2**i x 2**i overlapping crops;
each crop is encoded on its own, which finds smaller objects. All boxes are XYXY in integer
pixels, with x1, y1 exclusive for crop boxes.
"""

import math
from itertools import product

import torch
from torch.nn import functional as F


def generate_crop_boxes(
    image_hw: tuple[int, int], n_layers: int, overlap_ratio: float
) -> tuple[list[list[int]], list[int]]:
    """All crop boxes, in the order the official generator processes them, and their layers.

    image_hw: (H, W) of the image. overlap_ratio: in layer 1 neighbouring crops overlap by this
    fraction of the image's short side; deeper layers scale the overlap down with the crop size.

    Returns (crop boxes as [x0, y0, x1, y1] lists of ints, layer index of each box). Within a layer
    the crops go column by column (x0 outer, y0 inner), as the official generator orders them.
    """
    image_h, image_w = image_hw
    short_side = min(image_h, image_w)
    crop_boxes = [[0, 0, image_w, image_h]]
    layer_of_box = [0]

    for layer in range(1, n_layers + 1):
        crops_per_side = 2**layer
        # Same float expression, evaluated left to right, before truncation, as the official code.
        overlap = int(overlap_ratio * short_side * (2 / crops_per_side))
        crop_w = _crop_length(image_w, crops_per_side, overlap)
        crop_h = _crop_length(image_h, crops_per_side, overlap)
        x0s = [(crop_w - overlap) * i for i in range(crops_per_side)]
        y0s = [(crop_h - overlap) * i for i in range(crops_per_side)]
        for x0, y0 in product(x0s, y0s):
            crop_boxes.append([x0, y0, min(x0 + crop_w, image_w), min(y0 + crop_h, image_h)])
            layer_of_box.append(layer)

    return crop_boxes, layer_of_box


def _crop_length(image_length: int, n_crops: int, overlap: int) -> int:
    """The side of each of ``n_crops`` crops that cover ``image_length`` with ``overlap`` pixels
    shared between neighbours (rounded up, so that the crops reach the far edge)."""
    return math.ceil((overlap * (n_crops - 1) + image_length) / n_crops)


def uncrop_boxes_xyxy(boxes_n4: torch.Tensor, crop_box: list[int]) -> torch.Tensor:
    """XYXY boxes (..., 4) in a crop's frame -> the image's frame (same dtype)."""
    x0, y0, _, _ = crop_box
    return boxes_n4 + torch.tensor([x0, y0, x0, y0], dtype=boxes_n4.dtype)


def uncrop_points(points_n2: torch.Tensor, crop_box: list[int]) -> torch.Tensor:
    """(x, y) points (..., 2) in a crop's frame -> the image's frame.

    The sum is taken in the points' dtype: float64 for v1, float32 for v2, whose generators keep
    their points in those dtypes (the official code adds an int64 offset, which torch casts the
    same way).
    """
    x0, y0, _, _ = crop_box
    return points_n2 + torch.tensor([x0, y0], dtype=points_n2.dtype)


def uncrop_masks(masks_nhw: torch.Tensor, crop_box: list[int], image_hw: tuple[int, int]) -> torch.Tensor:
    """Masks (..., h, w) of a crop -> (..., H, W) of the image, zero (False) outside the crop."""
    x0, y0, x1, y1 = crop_box
    image_h, image_w = image_hw
    if (x0, y0, x1, y1) == (0, 0, image_w, image_h):
        return masks_nhw
    return F.pad(masks_nhw, (x0, image_w - x1, y0, image_h - y1), value=0)
