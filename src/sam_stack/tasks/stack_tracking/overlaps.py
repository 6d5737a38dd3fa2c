"""One object per pixel: where several objects' masks overlap, the most confident one keeps it.

The rule is the official predictor's non-overlap constraint (``non_overlap_masks=True``,
``SAM2Base._apply_non_overlapping_constraints``): at each pixel, only the object with the highest
mask logit may keep the pixel, and it keeps it if that logit is > 0. Ties go to the object added
first.
"""

import numpy as np
import torch


def exclusive_masks(logits_khw: torch.Tensor) -> torch.Tensor:
    """(K, H, W) mask logits of K objects -> (K, H, W) bool masks, no two sharing a pixel."""
    winner_hw = logits_khw.argmax(dim=0)
    objects_k11 = torch.arange(logits_khw.shape[0], device=logits_khw.device)[:, None, None]
    return (winner_hw[None] == objects_k11) & (logits_khw > 0)


def label_image(masks_khw: np.ndarray, object_ids) -> np.ndarray:
    """(K, H, W) disjoint bool masks and K object ids -> (H, W) uint32 labels, 0 = background."""
    labels = np.zeros(masks_khw.shape[1:], dtype=np.uint32)
    for mask_hw, object_id in zip(masks_khw, object_ids, strict=True):
        labels[mask_hw] = object_id
    return labels
