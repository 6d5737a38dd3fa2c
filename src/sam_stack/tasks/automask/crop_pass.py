"""One crop of the automatic mask generator: encode it, prompt every grid point, filter, dedupe.

The official generators upscale every candidate to the crop's full size, then filter. Predicted
IoU needs no pixels, so we filter on it first (the decoder's IoU is the same whatever happens to
the logits after); each survivor is then upscaled only inside its window (``mask_window``), which
gives the stability score, the mask's box and the crop-edge test exactly as a full upscale would,
and is kept as a window of low-res logits (``candidates``). Every filter and NMS then runs on the
same values, in the same order, as the official ``_process_batch`` and ``_process_crop``.
"""

import math

import numpy as np
import torch

from .boxes import batched_mask_to_box, is_box_near_crop_edge
from .candidates import Candidates, Crop
from .crops import uncrop_boxes_xyxy, uncrop_points
from .grid import scale_points_to_crop
from .mask_window import UpscalePlan, lowres_window, upscale_window
from .nms import batched_nms
from .settings import AutomaskSettings
from .stability import calculate_stability_score

# SAM2's predictor clamps the low-res logits it returns to this range, and its generator refines
# masks from those (``use_m2m``).
M2M_LOGIT_LIMIT = 32.0


def batches_in_crop(settings: AutomaskSettings, layer: int) -> int:
    """How many decoder calls a crop of this layer takes (for progress bars)."""
    return math.ceil(len(settings.point_grids[layer]) / settings.points_per_batch)


def process_crop(
    model, rgb_hw3: np.ndarray, crop_box: list[int], crop_index: int, layer: int, settings: AutomaskSettings, on_batch=None
) -> tuple[Candidates, Crop]:
    """The masks of one crop that pass every filter and the within-crop NMS, in the image frame.

    rgb_hw3: the whole image, uint8. crop_box: XYXY (x1, y1 exclusive). on_batch: called after
    each decoder call (progress). Returns the candidates, ordered as the official generator
    orders them, and the crop (box, upscale plan) needed to draw their masks.
    """
    x0, y0, x1, y1 = crop_box
    image_h, image_w = rgb_hw3.shape[:2]
    encoding = model.encode_image(rgb_hw3[y0:y1, x0:x1])
    grid_points_n2 = scale_points_to_crop(settings.point_grids[layer], crop_box)

    plan = None
    parts = []
    for start in range(0, len(grid_points_n2), settings.points_per_batch):
        points_b2 = grid_points_n2[start : start + settings.points_per_batch]
        lowres_nhw, iou_n, points_n2 = _decode(model, encoding, points_b2, settings)
        if plan is None:
            plan = UpscalePlan.from_steps(tuple(lowres_nhw.shape[-2:]), model.upscale_steps(encoding))
        parts.append(_filter_batch(lowres_nhw, iou_n, points_n2, plan, crop_box, crop_index, (image_h, image_w), settings))
        if on_batch is not None:
            on_batch()
    candidates = Candidates.concatenate(parts, settings.points_dtype)

    # Duplicates within the crop: the official generator's box NMS on predicted IoU.
    keep = batched_nms(candidates.boxes_n4.float(), candidates.iou_n, torch.zeros(len(candidates)), settings.box_nms_thresh)
    candidates = candidates.select(keep)
    candidates.boxes_n4 = uncrop_boxes_xyxy(candidates.boxes_n4, crop_box)
    candidates.points_n2 = uncrop_points(candidates.points_n2, crop_box)
    return candidates, Crop(crop_box, plan)


def _decode(model, encoding, points_b2: np.ndarray, settings: AutomaskSettings):
    """One decoder call -> candidates flattened point-major: low-res logits (N, h, w) float32
    numpy, IoU (N,) float32 tensor, their prompt points (N, 2) tensor in the version's dtype."""
    lowres_bkhw, iou_bk = model.decode_point_batch(encoding, points_b2, multimask=settings.multimask_output)
    per_point = lowres_bkhw.shape[1]
    lowres_nhw = lowres_bkhw.flatten(0, 1).float().cpu()
    iou_n = iou_bk.flatten().float().cpu()
    points_n2 = torch.as_tensor(points_b2).to(settings.points_dtype).repeat_interleave(per_point, dim=0)
    if settings.use_m2m:
        lowres_nhw, iou_n = _refine(model, encoding, lowres_nhw, points_n2, settings.points_per_batch)
    return lowres_nhw.numpy(), iou_n, points_n2


def _refine(model, encoding, lowres_nhw, points_n2, batch_size: int):
    """SAM2's "mask to mask" step: each candidate decoded again from its own point and its
    clamped logits as a mask prompt, single-mask output, in batches of ``batch_size``."""
    refined, ious = [], []
    for start in range(0, len(points_n2), batch_size):
        prompt_b1hw = lowres_nhw[start : start + batch_size, None].clamp(-M2M_LOGIT_LIMIT, M2M_LOGIT_LIMIT)
        logits_bkhw, iou_bk = model.decode_point_batch(
            encoding, points_n2[start : start + batch_size], multimask=False, mask_logits_b1hw=prompt_b1hw
        )
        refined.append(logits_bkhw[:, 0].float().cpu())
        ious.append(iou_bk[:, 0].float().cpu())
    return torch.cat(refined), torch.cat(ious)


def _filter_batch(
    lowres_nhw: np.ndarray,
    iou_n: torch.Tensor,
    points_n2: torch.Tensor,
    plan: UpscalePlan,
    crop_box: list[int],
    crop_index: int,
    image_hw: tuple[int, int],
    settings: AutomaskSettings,
) -> Candidates:
    """The official ``_process_batch`` filters, in its order: predicted IoU, stability score,
    then boxes near a crop edge that is not an image edge."""
    if settings.pred_iou_thresh > 0.0:
        passed = torch.nonzero(iou_n > settings.pred_iou_thresh).flatten()
        lowres_nhw, iou_n, points_n2 = lowres_nhw[passed.numpy()], iou_n[passed], points_n2[passed]

    stability_n = torch.empty(len(iou_n))
    boxes_n4 = torch.zeros(len(iou_n), 4, dtype=torch.int64)
    for i, lowres_hw in enumerate(lowres_nhw):
        stability_n[i], boxes_n4[i] = _stability_and_box(lowres_hw, plan, settings)
    if settings.stability_score_thresh > 0.0:
        # NaN (an empty mask) fails the test, as in the official code.
        keep = stability_n >= settings.stability_score_thresh
        lowres_nhw, iou_n, points_n2, stability_n, boxes_n4 = (
            lowres_nhw[keep.numpy()], iou_n[keep], points_n2[keep], stability_n[keep], boxes_n4[keep]
        )

    image_h, image_w = image_hw
    keep = ~is_box_near_crop_edge(boxes_n4, crop_box, [0, 0, image_w, image_h])
    kept = torch.nonzero(keep).flatten()
    return Candidates(
        iou_n=iou_n[kept],
        stability_n=stability_n[kept],
        boxes_n4=boxes_n4[kept],
        points_n2=points_n2[kept],
        crops_n=torch.full((len(kept),), crop_index, dtype=torch.int64),
        lowres=[lowres_window(lowres_nhw[i], plan, settings.mask_threshold) for i in kept.tolist()],
    )


def _stability_and_box(lowres_hw: np.ndarray, plan: UpscalePlan, settings: AutomaskSettings) -> tuple[float, torch.Tensor]:
    """One candidate's stability score (float32; NaN when no pixel reaches the lower threshold)
    and the XYXY box of its mask in the crop's frame ([0, 0, 0, 0] when empty), from the window
    of its upscaled logits."""
    threshold, offset = settings.mask_threshold, settings.stability_score_offset
    window = upscale_window(lowres_hw, plan, settings.stability_floor)
    if window is None:
        return float("nan"), torch.zeros(4, dtype=torch.int64)
    logits_hw = torch.from_numpy(window.logits_hw)
    # Outside the window no pixel is above the floor, so the window's counts are the mask's.
    stability = calculate_stability_score(logits_hw, threshold, offset).item()
    mask_hw = logits_hw > threshold
    box = batched_mask_to_box(mask_hw)
    if mask_hw.any():
        box += torch.tensor([window.left, window.top, window.left, window.top])
    return stability, box
