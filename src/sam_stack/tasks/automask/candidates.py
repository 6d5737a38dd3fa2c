"""The masks a generator keeps, held compactly: scores, boxes and a window of low-res logits each.

Full-size masks of every candidate would not fit in memory for large images (the official
generators hold run-length encodings instead). A mask is fully described by its low-res logits
and its crop's upscale, so we keep only the part of the logits its window reads
(``mask_window.lowres_window``) and draw the full-size mask when a record is written.
"""

from dataclasses import dataclass, field

import numpy as np
import torch

from .mask_window import UpscalePlan, upscale_window


@dataclass(frozen=True)
class Crop:
    """One encoded crop: its XYXY box in the image (x1, y1 exclusive) and its upscale plan."""

    box: list[int]
    plan: UpscalePlan


@dataclass
class Candidates:
    """N masks with the fields of the official generators' records, in a fixed order.

    iou_n, stability_n: (N,) float32. boxes_n4: (N, 4) int64 XYXY inclusive mask boxes, in the
    crop's frame, then (after the crop's NMS) the image's. points_n2: (N, 2) prompt (x, y),
    float64 (v1) or float32 (v2), in the same frame as the boxes. crops_n: (N,) int64 index into
    the generator's list of crops. lowres: per mask, (part of its low-res logits, float32 numpy,
    and that part's (row, col) origin), or None where no pixel reaches the mask threshold.
    """

    iou_n: torch.Tensor
    stability_n: torch.Tensor
    boxes_n4: torch.Tensor
    points_n2: torch.Tensor
    crops_n: torch.Tensor
    lowres: list = field(default_factory=list)

    @classmethod
    def empty(cls, points_dtype: torch.dtype) -> "Candidates":
        return cls(
            torch.empty(0),
            torch.empty(0),
            torch.empty(0, 4, dtype=torch.int64),
            torch.empty(0, 2, dtype=points_dtype),
            torch.empty(0, dtype=torch.int64),
        )

    def __len__(self) -> int:
        return len(self.iou_n)

    def select(self, index_k: torch.Tensor) -> "Candidates":
        """The masks at ``index_k`` (int64 indices, in that order)."""
        return Candidates(
            self.iou_n[index_k],
            self.stability_n[index_k],
            self.boxes_n4[index_k],
            self.points_n2[index_k],
            self.crops_n[index_k],
            [self.lowres[i] for i in index_k.tolist()],
        )

    @classmethod
    def concatenate(cls, parts: list["Candidates"], points_dtype: torch.dtype) -> "Candidates":
        if not parts:
            return cls.empty(points_dtype)
        return cls(
            torch.cat([part.iou_n for part in parts]),
            torch.cat([part.stability_n for part in parts]),
            torch.cat([part.boxes_n4 for part in parts]),
            torch.cat([part.points_n2 for part in parts]),
            torch.cat([part.crops_n for part in parts]),
            [window for part in parts for window in part.lowres],
        )


def draw_mask(lowres, crop: Crop, image_hw: tuple[int, int], threshold: float) -> np.ndarray:
    """One candidate's (H, W) bool mask in the image frame: its logits upscaled inside its
    window and thresholded, False outside the window and the crop."""
    mask_hw = np.zeros(image_hw, dtype=bool)
    if lowres is None:
        return mask_hw
    logits_part, origin = lowres
    window = upscale_window(logits_part, crop.plan, threshold, origin)
    if window is None:
        return mask_hw
    height, width = window.logits_hw.shape
    top, left = crop.box[1] + window.top, crop.box[0] + window.left
    mask_hw[top : top + height, left : left + width] = window.logits_hw > threshold
    return mask_hw
