"""Choosing the mask(s) SAM v2 returns among the decoder's four candidates.

The decoder always makes one single-mask candidate (index 0) and three multi-mask candidates
(1..3). With ``multimask`` the three are returned. Without it, the official models built by
``build_sam2`` (``dynamic_multimask_via_stability``) return the single-mask candidate only when
it is stable: when thresholding its logits at +delta and at -delta gives nearly the same mask
(IoU >= thresh); otherwise they fall back to the multi-mask candidate of highest predicted IoU.
"""

import torch


def stability_scores(logits_bkhw: torch.Tensor, delta: float) -> torch.Tensor:
    """(B, K, h, w) logits -> (B, K) area(logits > delta) / area(logits > -delta); 1 when both
    areas are empty."""
    flat_bkn = logits_bkhw.flatten(-2)
    inner = (flat_bkn > delta).sum(-1).float()
    outer = (flat_bkn > -delta).sum(-1).float()
    return torch.where(outer > 0, inner / outer, 1.0)


def select_masks(
    logits_bkhw: torch.Tensor, iou_bk: torch.Tensor, multimask: bool, delta: float, thresh: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """All four candidates (B, 4, h, w) and their IoU (B, 4) -> the returned (B, K, h, w) and
    (B, K), K = 3 with ``multimask``, else 1 (the stable single mask or the fallback)."""
    if multimask:
        return logits_bkhw[:, 1:], iou_bk[:, 1:]
    best_bk = iou_bk[:, 1:].argmax(dim=1) + 1
    batch = torch.arange(len(iou_bk), device=iou_bk.device)
    stable_b = stability_scores(logits_bkhw[:, 0:1], delta)[:, 0] >= thresh
    chosen_b = torch.where(stable_b, torch.zeros_like(best_bk), best_bk)
    return logits_bkhw[batch, chosen_b][:, None], iou_bk[batch, chosen_b][:, None]
