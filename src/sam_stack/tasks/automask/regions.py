"""Removing small holes and islands from masks, and the generator's clean-up pass built on it.

Only the official v1 generator runs this pass (``min_mask_region_area > 0``). The official v2
generator never calls its copy of ``postprocess_small_regions``: it hands ``min_mask_region_area``
to its image predictor as ``max_hole_area`` / ``max_sprinkle_area``, which fills holes on the
256 x 256 logits with the CUDA extension ``sam2._C`` and silently skips the step (with a warning)
where that extension is missing or cannot run, as on a CPU.
"""

from collections.abc import Iterable

import cv2
import numpy as np
import torch

from .boxes import batched_mask_to_box
from .nms import batched_nms


def remove_small_regions(mask_hw: np.ndarray, area_thresh: float, mode: str) -> tuple[np.ndarray, bool]:
    """Fill holes (mode "holes") or delete islands (mode "islands") of fewer than ``area_thresh``
    pixels. Regions are 8-connected.

    mask_hw: (H, W) bool. Returns (the mask, whether anything was below the threshold). When
    nothing was, the input array itself comes back. The flag follows the official rule, which is
    about regions, not pixels: it is True whenever some region is small, even when the mask ends up
    the same (an island-only mask whose every island is small keeps its largest one).

    "holes" works on the background's components, and the background that touches the border
    counts as one of them: it is filled too when it is small, as in the official code.
    """
    if mode not in ("holes", "islands"):
        raise ValueError(f"mode must be 'holes' or 'islands', got {mode!r}")
    fill_holes = mode == "holes"
    mask_hw = np.asarray(mask_hw, dtype=bool)
    regions_of_hw = ~mask_hw if fill_holes else mask_hw

    n_labels, labels_hw, stats, _ = cv2.connectedComponentsWithStats(
        regions_of_hw.astype(np.uint8), connectivity=8
    )
    # Label 0 is everything outside the regions; labels 1.. are the regions.
    region_areas = stats[1:, cv2.CC_STAT_AREA]
    small_labels = np.flatnonzero(region_areas < area_thresh) + 1
    if small_labels.size == 0:
        return mask_hw, False

    labels_in_result = np.zeros(n_labels, dtype=bool)
    if fill_holes:
        # Label 0 of the background's components is the foreground; small holes join it.
        labels_in_result[0] = True
        labels_in_result[small_labels] = True
    else:
        labels_in_result[1:] = True
        labels_in_result[small_labels] = False
        if not labels_in_result.any():
            # Every island is small: keep the largest (the lowest label among equals).
            labels_in_result[int(np.argmax(region_areas)) + 1] = True
    return labels_in_result[labels_hw], True


def clean_small_regions(mask_hw: np.ndarray, min_area: float) -> tuple[np.ndarray, bool]:
    """Fill small holes, then delete small islands of the result. Returns (mask, changed), where
    changed is True when either step reported a small region."""
    mask_hw, holes_changed = remove_small_regions(mask_hw, min_area, mode="holes")
    mask_hw, islands_changed = remove_small_regions(mask_hw, min_area, mode="islands")
    return mask_hw, holes_changed or islands_changed


def postprocess_small_regions(
    masks_hw: Iterable[np.ndarray], boxes_n4: torch.Tensor, min_area: float, nms_threshold: float
) -> tuple[torch.Tensor, list[np.ndarray], torch.Tensor]:
    """The official v1 generator's last step: clean every mask, then drop new duplicates.

    masks_hw: the N records' masks, (H, W) bool each, in record order (any iterable, e.g. a
    generator that upscales them one at a time). boxes_n4: (N, 4) their XYXY boxes in the image
    frame. nms_threshold: the official generator passes max(box_nms_thresh, crop_nms_thresh).

    Box NMS runs on the boxes of the cleaned masks with score 1 for masks that cleaning left alone
    and 0 for the others, so unchanged masks win. The official code recomputes every box for NMS
    but writes back only those of kept, changed masks; a kept unchanged mask keeps its input box
    (these differ only for empty masks, whose input box is the crop's corner, not [0, 0, 0, 0]).

    Returns (keep: (K,) int64 indices into the inputs, in the new record order;
    the K masks, cleaned where cleaning changed them; (K, 4) their boxes, in boxes_n4's dtype).
    Holds the N cleaned masks until NMS has run, as the official code does.
    """
    cleaned_masks, changed = [], []
    for mask_hw in masks_hw:
        cleaned_hw, was_changed = clean_small_regions(mask_hw, min_area)
        cleaned_masks.append(cleaned_hw)
        changed.append(was_changed)
    if not cleaned_masks:
        return torch.empty(0, dtype=torch.int64), [], boxes_n4[:0]

    cleaned_boxes_n4 = torch.stack([batched_mask_to_box(torch.from_numpy(mask)) for mask in cleaned_masks])
    changed_n = torch.tensor(changed)
    unchanged_scores_n = (~changed_n).to(torch.float32)
    categories_n = torch.zeros(len(changed))
    keep_k = batched_nms(cleaned_boxes_n4.float(), unchanged_scores_n, categories_n, nms_threshold)

    cleaned_boxes_k4 = cleaned_boxes_n4[keep_k].to(boxes_n4.dtype)
    boxes_k4 = torch.where(changed_n[keep_k, None], cleaned_boxes_k4, boxes_n4[keep_k])
    return keep_k, [cleaned_masks[i] for i in keep_k.tolist()], boxes_k4
