"""The output record of the automatic mask generator: one dict per mask, with the official fields."""

import numpy as np
import torch

from .boxes import box_xyxy_to_xywh


def mask_record(
    segmentation_hw: np.ndarray,
    box_xyxy: torch.Tensor | np.ndarray,
    predicted_iou: float,
    point_xy: torch.Tensor | np.ndarray,
    stability_score: float,
    crop_box_xyxy: torch.Tensor | np.ndarray,
) -> dict:
    """The official generator's record for one mask (its ``output_mode="binary_mask"``).

    segmentation_hw: (H, W) bool in the image frame. box_xyxy: (4,) inclusive mask box; point_xy:
    (2,) the prompt; crop_box_xyxy: (4,) exclusive crop box; all in image pixels.

    Fields: segmentation, area (int, pixel count), bbox (XYWH list), predicted_iou (float),
    point_coords ([[x, y]]), stability_score (float), crop_box (XYWH list). Lists take their
    element type from the arrays given: the official v1 generator yields int boxes and float64
    points, v2 casts every tensor to float32 first, so its boxes come out as floats. Pass arrays of
    those dtypes to reproduce either exactly.
    """
    return {
        "segmentation": segmentation_hw,
        "area": int(np.count_nonzero(segmentation_hw)),
        "bbox": box_xyxy_to_xywh(np.asarray(box_xyxy)).tolist(),
        "predicted_iou": float(predicted_iou),
        "point_coords": [np.asarray(point_xy).tolist()],
        "stability_score": float(stability_score),
        "crop_box": box_xyxy_to_xywh(np.asarray(crop_box_xyxy)).tolist(),
    }
