"""Filling small holes in low-resolution mask logits, as the official video predictor does.

``build_sam2_video_predictor`` sets ``fill_hole_area=8``: every 8-connected region of the
background (logits <= 0) of at most that many low-resolution pixels, at the border or not, gets
the logit 0.1 and so joins the mask (``sam2.utils.misc.fill_holes_in_mask_scores``). The official
code finds the regions with a CUDA extension and skips the step, with a warning, where that is
missing, as on every CPU; this does it with OpenCV on any device.
"""

import cv2
import numpy as np
import torch

# The logit given to filled pixels (official): just above the mask threshold.
FILLED_LOGIT = 0.1


def fill_small_holes(mask_logits_b1hw: torch.Tensor, max_area: int) -> torch.Tensor:
    """(B, 1, h, w) low-res logits -> the same with background regions of <= ``max_area``
    pixels set to ``FILLED_LOGIT``."""
    if max_area <= 0:
        return mask_logits_b1hw
    holes = np.zeros(mask_logits_b1hw.shape, dtype=bool)
    background_b1hw = (mask_logits_b1hw <= 0).cpu().numpy()
    for index, background_hw in enumerate(background_b1hw[:, 0]):
        _, labels_hw, stats, _ = cv2.connectedComponentsWithStats(background_hw.astype(np.uint8), connectivity=8)
        # Label 0 is the mask itself; labels 1.. are the background's regions.
        is_small = stats[:, cv2.CC_STAT_AREA] <= max_area
        is_small[0] = False
        holes[index, 0] = is_small[labels_hw]
    if not holes.any():
        return mask_logits_b1hw
    return torch.where(torch.from_numpy(holes).to(mask_logits_b1hw.device), FILLED_LOGIT, mask_logits_b1hw)
