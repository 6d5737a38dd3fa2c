"""Segment everything: ``generate_masks``, the official automatic mask generators' results, faster.

The steps and their order are the official ``SamAutomaticMaskGenerator`` /
``SAM2AutomaticMaskGenerator``'s: crops (the whole image, then ``crop_n_layers`` layers of
overlapping tiles), each encoded on its own and prompted with a grid of single points in batches;
filters on predicted IoU, stability score and crop edges; box NMS within each crop, then between
crops preferring masks from smaller crops; for v1, optional removal of small holes and islands.
What differs is how, not what (see ``crop_pass``): candidates are filtered on IoU before any
upscaling, upscaled only inside the window where they can be, and held as low-res windows until a
record is written, so the full-size masks of all candidates never exist at once.
"""

import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
from tqdm.auto import tqdm

from ...models.image_input import to_uint8_rgb
from .boxes import box_area
from .candidates import Candidates, Crop, draw_mask
from .crop_pass import batches_in_crop, process_crop
from .crops import generate_crop_boxes
from .nms import batched_nms
from .records import mask_record
from .regions import postprocess_small_regions
from .settings import AutomaskSettings, resolve_settings


def generate_masks(
    model,
    image,
    points_per_side: int | None = 32,
    points_per_batch: int = 64,
    pred_iou_thresh: float | None = None,
    stability_score_thresh: float = 0.95,
    stability_score_offset: float = 1.0,
    mask_threshold: float = 0.0,
    box_nms_thresh: float = 0.7,
    crop_n_layers: int = 0,
    crop_nms_thresh: float = 0.7,
    crop_overlap_ratio: float = 512 / 1500,
    crop_n_points_downscale_factor: int = 1,
    point_grids: list[np.ndarray] | None = None,
    min_mask_region_area: float = 0,
    use_m2m: bool = False,
    multimask_output: bool = True,
    progress: bool = False,
) -> list[dict]:
    """Masks of everything in an image, as the official automatic mask generator of the model's
    version makes them (same masks, scores and order, on the same weights; see the tests).

    model: a loaded model (``sam_stack.load_model``). image: (H, W) or (H, W, 3) array of any
    numeric dtype (converted once as ``encode_image`` converts it, before cropping).

    Parameters and defaults are the official generators' (one exception, below):
    points_per_side: grid points per side (points_per_side**2 prompts on the whole image); None to
        give ``point_grids`` instead: one (N, 2) grid of (x, y) in [0, 1] per crop layer.
    points_per_batch: prompts per decoder call. Results can differ in the last bits with it.
    pred_iou_thresh: keep masks whose predicted IoU is above this; None = the version's official
        default, 0.88 for v1 and 0.8 for v2 / v2.1.
    stability_score_thresh, stability_score_offset: keep masks whose IoU between the masks at
        thresholds mask_threshold +- offset is at least this.
    mask_threshold: logit above which a pixel is in the mask (v1's official generator takes 0.0
        from its model).
    box_nms_thresh: box IoU above which the lower-scored of two masks of one crop is dropped.
    crop_n_layers, crop_overlap_ratio, crop_n_points_downscale_factor, crop_nms_thresh: also run
        on 2**i x 2**i overlapping crops for layers i = 1..crop_n_layers (each with
        points_per_side / factor**i points per side), and drop duplicates between crops.
    min_mask_region_area: v1: fill holes and remove islands smaller than this many pixels, then
        drop new duplicates. v2 / v2.1: ignored with a warning, as the official SAM2 generator
        ignores it on a CPU: it would apply it to the low-res logits through its CUDA extension.
    use_m2m, multimask_output: SAM2's options (offered for v1 too): decode each candidate again
        from its own logits, single output; and three masks per point (else one).
    progress: show a progress bar over decoder calls.

    Returns one dict per mask, best first within the official order, with the official fields:
    segmentation ((H, W) bool), area (int), bbox ([x, y, w, h]), predicted_iou, point_coords
    ([[x, y]]), stability_score, crop_box ([x, y, w, h]). Numbers have the official types: v1
    boxes are ints; v2 casts everything to float32 first, so its boxes are floats.
    """
    return list(
        iter_masks(
            model,
            image,
            points_per_side=points_per_side,
            points_per_batch=points_per_batch,
            pred_iou_thresh=pred_iou_thresh,
            stability_score_thresh=stability_score_thresh,
            stability_score_offset=stability_score_offset,
            mask_threshold=mask_threshold,
            box_nms_thresh=box_nms_thresh,
            crop_n_layers=crop_n_layers,
            crop_nms_thresh=crop_nms_thresh,
            crop_overlap_ratio=crop_overlap_ratio,
            crop_n_points_downscale_factor=crop_n_points_downscale_factor,
            point_grids=point_grids,
            min_mask_region_area=min_mask_region_area,
            use_m2m=use_m2m,
            multimask_output=multimask_output,
            progress=progress,
        )
    )


def iter_masks(model, image, progress: bool = False, **parameters) -> Iterator[dict]:
    """``generate_masks`` one record at a time: the search for masks runs first, then each
    record's full-size mask is drawn only when the record is reached, so memory holds one of
    them at a time (``masks_to_labels`` and the CLI consume records this way). Takes the same
    keyword parameters, with the same defaults, as ``generate_masks``.

    With v1 and ``min_mask_region_area > 0`` every cleaned mask is held until the duplicates
    among them are dropped, as in the official generator.
    """
    settings = resolve_settings(model.version, **parameters)
    if settings.min_mask_region_area > 0 and settings.version != "v1":
        warnings.warn(
            f"min_mask_region_area is ignored for SAM {settings.version} models, as the official SAM2 generator "
            "ignores it without its CUDA extension",
            UserWarning,
            stacklevel=2,
        )
    rgb_hw3 = to_uint8_rgb(image)
    # Parameters and image are checked now; the search runs when the first record is asked for.
    return (record for record in find_masks(model, rgb_hw3, settings, progress).records())


@dataclass
class FoundMasks:
    """The final masks of one image, before their full-size pixels are drawn."""

    candidates: Candidates
    crops: list[Crop]
    image_hw: tuple[int, int]
    settings: AutomaskSettings

    def masks(self) -> Iterator[np.ndarray]:
        """(H, W) bool masks, in order, drawn one at a time."""
        for crop_index, lowres in zip(self.candidates.crops_n.tolist(), self.candidates.lowres):
            yield draw_mask(lowres, self.crops[crop_index], self.image_hw, self.settings.mask_threshold)

    def records(self) -> Iterator[dict]:
        """The official records, in order (after v1's small-region clean-up, if asked for)."""
        candidates, masks, boxes_n4 = self.candidates, self.masks(), self.candidates.boxes_n4
        settings = self.settings
        if settings.min_mask_region_area > 0 and settings.version == "v1":
            nms_threshold = max(settings.box_nms_thresh, settings.crop_nms_thresh)
            keep, masks, boxes_n4 = postprocess_small_regions(masks, boxes_n4, settings.min_mask_region_area, nms_threshold)
            candidates = candidates.select(keep)

        crop_boxes_n4 = torch.tensor([self.crops[i].box for i in candidates.crops_n.tolist()], dtype=torch.int64).reshape(-1, 4)
        fields = [candidates.iou_n, candidates.stability_n, boxes_n4, candidates.points_n2, crop_boxes_n4]
        if settings.records_in_float32:
            fields = [values.float() for values in fields]
        iou_n, stability_n, boxes_n4, points_n2, crop_boxes_n4 = (values.numpy() for values in fields)
        for i, mask_hw in enumerate(masks):
            yield mask_record(mask_hw, boxes_n4[i], iou_n[i], points_n2[i], stability_n[i], crop_boxes_n4[i])


def find_masks(model, rgb_hw3: np.ndarray, settings: AutomaskSettings, progress: bool = False) -> FoundMasks:
    """Runs every crop and the NMS between crops on a uint8 RGB image."""
    image_hw = rgb_hw3.shape[:2]
    crop_boxes, layers = generate_crop_boxes(image_hw, settings.crop_n_layers, settings.crop_overlap_ratio)
    total = sum(batches_in_crop(settings, layer) for layer in layers)
    parts, crops = [], []
    with tqdm(total=total, desc="segment everything", unit="batch", disable=not progress, leave=False) as bar:
        for crop_index, (crop_box, layer) in enumerate(zip(crop_boxes, layers)):
            candidates, crop = process_crop(model, rgb_hw3, crop_box, crop_index, layer, settings, on_batch=lambda: bar.update(1))
            parts.append(candidates)
            crops.append(crop)
    candidates = Candidates.concatenate(parts, settings.points_dtype)

    if len(crop_boxes) > 1:
        # Duplicates between crops: masks from smaller crops win (score 1 / crop area).
        crop_boxes_n4 = torch.tensor([crop_boxes[i] for i in candidates.crops_n.tolist()], dtype=torch.int64).reshape(-1, 4)
        scores_n = 1 / box_area(crop_boxes_n4)
        keep = batched_nms(candidates.boxes_n4.float(), scores_n, torch.zeros(len(candidates)), settings.crop_nms_thresh)
        candidates = candidates.select(keep)
    return FoundMasks(candidates, crops, image_hw, settings)
