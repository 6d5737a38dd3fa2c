"""Boxes around masks, the crop-edge test, and box formats.

Mask boxes are XYXY with inclusive pixel indices (x1, y1 are the last column and row of the mask),
as the official generator computes them; crop boxes are XYXY with x1, y1 exclusive.
"""

import numpy as np
import torch

from .crops import uncrop_boxes_xyxy


def batched_mask_to_box(masks_nhw: torch.Tensor) -> torch.Tensor:
    """Boolean masks (..., H, W) -> int64 XYXY boxes (..., 4) around their True pixels.

    An empty mask gets [0, 0, 0, 0], the official convention. (For an input with no elements the
    official function returns float32 zeros; we keep int64 so the dtype never depends on the count.)
    """
    *leading, height, width = masks_nhw.shape
    if masks_nhw.numel() == 0:
        return torch.zeros(*leading, 4, dtype=torch.int64)

    # amax, not any: on bool tensors torch's amax is the faster reduction on a CPU.
    rows_hit = masks_nhw.amax(dim=-1).to(torch.uint8)  # (..., H)
    cols_hit = masks_nhw.amax(dim=-2).to(torch.uint8)  # (..., W)
    # argmax returns the first maximal index: the first hit, or the last one on the flipped axis.
    top = rows_hit.argmax(dim=-1)
    bottom = height - 1 - rows_hit.flip(-1).argmax(dim=-1)
    left = cols_hit.argmax(dim=-1)
    right = width - 1 - cols_hit.flip(-1).argmax(dim=-1)

    boxes = torch.stack([left, top, right, bottom], dim=-1)
    is_empty = rows_hit.amax(dim=-1) == 0
    return boxes.masked_fill(is_empty[..., None], 0)


def is_box_near_crop_edge(
    boxes_n4: torch.Tensor, crop_box: list[int], image_box: list[int], atol: float = 20.0
) -> torch.Tensor:
    """Which boxes come within ``atol`` pixels of an edge of their crop that is not an image edge.

    boxes_n4: (N, 4) XYXY mask boxes in the crop's frame. crop_box, image_box: XYXY in the image
    frame. Returns (N,) bool. Such masks are probably cut by the crop, so the generator drops them.
    Each coordinate is compared with the same coordinate of the crop (x0 with x0, ...), in float32
    as the official code does.
    """
    boxes_in_image_n4 = uncrop_boxes_xyxy(boxes_n4, crop_box).float()
    crop_box_4 = torch.tensor(crop_box, dtype=torch.float32)
    image_box_4 = torch.tensor(image_box, dtype=torch.float32)
    near_crop_edge = torch.isclose(boxes_in_image_n4, crop_box_4, atol=atol, rtol=0)
    near_image_edge = torch.isclose(boxes_in_image_n4, image_box_4, atol=atol, rtol=0)
    return (near_crop_edge & ~near_image_edge).any(dim=-1)


def box_xyxy_to_xywh(boxes_n4: torch.Tensor | np.ndarray) -> torch.Tensor | np.ndarray:
    """XYXY (..., 4) -> XYWH (..., 4) by w = x1 - x0, h = y1 - y0; a new array of the same type."""
    boxes_xywh = boxes_n4.clone() if isinstance(boxes_n4, torch.Tensor) else np.array(boxes_n4)
    boxes_xywh[..., 2:] -= boxes_n4[..., :2]
    return boxes_xywh


def box_area(boxes_n4: torch.Tensor) -> torch.Tensor:
    """XYXY (N, 4) -> (N,) areas (x1 - x0) * (y1 - y0), in the boxes' dtype."""
    return (boxes_n4[:, 2] - boxes_n4[:, 0]) * (boxes_n4[:, 3] - boxes_n4[:, 1])
