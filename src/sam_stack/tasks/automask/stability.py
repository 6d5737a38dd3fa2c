"""The stability score: how much a mask changes when its logit threshold moves by +- an offset."""

import torch

# The widest row whose pixel count fits in int16.
_INT16_MAX = 32767


def calculate_stability_score(
    mask_logits_nhw: torch.Tensor, mask_threshold: float, threshold_offset: float
) -> torch.Tensor:
    """IoU of the masks thresholded at ``mask_threshold + offset`` and ``mask_threshold - offset``.

    mask_logits_nhw: (..., H, W) logits at the resolution the official generator filters at (the
    crop's own pixel size, after upscaling). Returns (...,) float32.

    The higher threshold's mask lies inside the lower one's, so the IoU is a ratio of two pixel
    counts. Counting in integers makes the score independent of summation order; the float32
    division of the two int32 counts is what the official v1 and v2 code computes (they share this
    function; v1 takes the threshold from the model, v2 from the generator, both 0.0 by default).
    A mask with no pixel above the lower threshold scores 0/0 = NaN, which then fails every ``>=``
    filter, as there.
    """
    inner_count = _count_true(mask_logits_nhw > (mask_threshold + threshold_offset))
    outer_count = _count_true(mask_logits_nhw > (mask_threshold - threshold_offset))
    return inner_count / outer_count


def _count_true(masks_nhw: torch.Tensor) -> torch.Tensor:
    """(..., H, W) bool -> (...,) int32 number of True pixels.

    Rows are counted first in int16, which torch sums about twice as fast as int32 on a CPU (the
    official code does the same). Unlike the official code we fall back to int32 for rows wider
    than int16 can count, where its row counts would overflow.
    """
    row_dtype = torch.int16 if masks_nhw.shape[-1] <= _INT16_MAX else torch.int32
    return masks_nhw.sum(dim=-1, dtype=row_dtype).sum(dim=-1, dtype=torch.int32)
