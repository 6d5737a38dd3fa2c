"""Greedy non-maximum suppression on XYXY boxes, returning exactly torchvision's indices.

The official generators call ``torchvision.ops.batched_nms`` three times: within each crop
(scores: predicted IoU), between crops (scores: 1 / crop area, so masks from smaller crops win)
and after small-region cleanup (scores: 1 unchanged, 0 changed). We reproduce torchvision >= 0.12
on CPU without depending on it:

- ``nms`` visits boxes by descending score and drops every later box whose IoU with a kept box is
  greater than the threshold. Equal scores are visited in input order: the CPU kernel sorts with
  ``stable=True`` since pytorch/vision#4767. IoU is computed in the boxes' dtype with the kernel's
  operations, and compared in float64 like the kernel's ``float > double`` (comparing a float32
  tensor with a Python float would round the threshold to float32 instead).
- ``batched_nms`` has two paths, chosen like torchvision's on CPU. Up to 4000 coordinates (1000
  boxes), categories are shifted apart and one ``nms`` runs, so the result is in stable order. Above
  that, ``nms`` runs per category and the kept indices are re-sorted with
  ``scores.sort(descending=True)``, which is NOT stable: with torch 2.13 on an AVX512 CPU, equal
  scores among more than 16 elements come out in neither input order nor its reverse. We make the
  same call on the same tensor, so under the same torch build on the same CPU the order is the
  same; it may differ between machines, for the official code too.
"""

import numpy as np
import torch

# Above this many box coordinates torchvision's CPU batched_nms loops over categories.
_PER_CATEGORY_ABOVE = 4000


def nms(boxes_n4: torch.Tensor, scores_n: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    """Indices (int64) of the boxes kept by greedy NMS, highest score first.

    boxes_n4: (N, 4) float XYXY. scores_n: (N,). A box is dropped when its IoU with a kept,
    earlier-visited box is > iou_threshold.

    Only kept boxes cost a step: each step keeps the first remaining candidate and removes the
    candidates it suppresses, with one vectorised IoU row. Time O(kept x N), memory O(N). The rows
    are numpy arrays because a numpy operation on a few thousand floats costs a fraction of a torch
    call's overhead, and this loop is all small operations; the IEEE float arithmetic is the same.
    """
    order_n = torch.sort(scores_n, descending=True, stable=True).indices
    x0, y0, x1, y1 = boxes_n4[order_n].detach().cpu().numpy().T.copy()
    areas = (x1 - x0) * (y1 - y0)

    kept_ranks = []
    candidates = np.arange(len(order_n))
    while candidates.size > 0:
        best, others = candidates[0], candidates[1:]
        kept_ranks.append(best)
        # The torchvision kernel's operations in its order, so every float rounds the same way.
        width = np.maximum(np.minimum(x1[best], x1[others]) - np.maximum(x0[best], x0[others]), 0)
        height = np.maximum(np.minimum(y1[best], y1[others]) - np.maximum(y0[best], y0[others]), 0)
        intersection = width * height
        with np.errstate(invalid="ignore"):
            # Two empty boxes give 0 / 0 = NaN, which is not > threshold: no suppression, as in
            # the kernel.
            iou = intersection / (areas[best] + areas[others] - intersection)
        candidates = others[~(iou.astype(np.float64) > iou_threshold)]

    return order_n[torch.from_numpy(np.array(kept_ranks, dtype=np.int64)).to(order_n.device)]


def batched_nms(
    boxes_n4: torch.Tensor, scores_n: torch.Tensor, categories_n: torch.Tensor, iou_threshold: float
) -> torch.Tensor:
    """NMS within each category (boxes of different categories never suppress each other).

    Returns int64 indices of the kept boxes, highest score first, tie order as described in the
    module docstring.
    """
    if boxes_n4.numel() > _PER_CATEGORY_ABOVE:
        is_kept_n = torch.zeros_like(scores_n, dtype=torch.bool)
        for category in torch.unique(categories_n):
            members = torch.where(categories_n == category)[0]
            is_kept_n[members[nms(boxes_n4[members], scores_n[members], iou_threshold)]] = True
        kept = torch.where(is_kept_n)[0]
        # Deliberately the default (unstable) sort: the call torchvision makes.
        return kept[scores_n[kept].sort(descending=True).indices]

    if boxes_n4.numel() == 0:
        return torch.empty(0, dtype=torch.int64)
    # Shift each category by a multiple of (largest coordinate + 1) so categories cannot overlap.
    # The shift changes the floats, so it is the same shift torchvision applies.
    offsets_n = categories_n.to(boxes_n4) * (boxes_n4.max() + 1)
    return nms(boxes_n4 + offsets_n[:, None], scores_n, iou_threshold)
