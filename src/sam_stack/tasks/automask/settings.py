"""The automatic mask generator's parameters, with each model version's official defaults.

The official ``SamAutomaticMaskGenerator`` (v1) and ``SAM2AutomaticMaskGenerator`` (v2, v2.1)
share every parameter and default but one: the predicted-IoU threshold is 0.88 for v1 and 0.8
for v2. SAM2's generator adds ``mask_threshold`` (v1 takes the same 0.0 from its model),
``use_m2m`` and ``multimask_output``; we offer them for every version.
"""

from dataclasses import dataclass

import numpy as np
import torch

from .grid import build_all_layer_point_grids

PRED_IOU_THRESH = {"v1": 0.88, "v2": 0.8, "v2.1": 0.8}


@dataclass(frozen=True)
class AutomaskSettings:
    """Every parameter of a run, resolved (see ``generate_masks`` for their meaning)."""

    version: str
    point_grids: tuple[np.ndarray, ...]
    points_per_batch: int
    pred_iou_thresh: float
    stability_score_thresh: float
    stability_score_offset: float
    mask_threshold: float
    box_nms_thresh: float
    crop_n_layers: int
    crop_nms_thresh: float
    crop_overlap_ratio: float
    min_mask_region_area: float
    use_m2m: bool
    multimask_output: bool

    @property
    def points_dtype(self) -> torch.dtype:
        """The official v1 generator keeps prompt points in float64, v2 casts them to float32."""
        return torch.float64 if self.version == "v1" else torch.float32

    @property
    def records_in_float32(self) -> bool:
        """The official v2 generator casts every number to float32 before writing records, so
        its boxes and crop boxes come out as floats; v1 writes ints."""
        return self.version != "v1"

    @property
    def stability_floor(self) -> float:
        """The lowest logit threshold the stability score counts above."""
        return self.mask_threshold - abs(self.stability_score_offset)


def resolve_settings(
    version: str,
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
    point_grids=None,
    min_mask_region_area: float = 0,
    use_m2m: bool = False,
    multimask_output: bool = True,
) -> AutomaskSettings:
    """Checks the parameters of ``generate_masks`` (same names and defaults) and fills in the
    version's defaults where None is given.

    Exactly one of ``points_per_side`` and ``point_grids`` (one (N, 2) grid in [0, 1] per crop
    layer, layer 0 first) must be given, as in the official generators; ValueError otherwise.
    """
    if (points_per_side is None) == (point_grids is None):
        raise ValueError("give exactly one of points_per_side and point_grids")
    if points_per_side is not None:
        grids = build_all_layer_point_grids(points_per_side, crop_n_layers, crop_n_points_downscale_factor)
    else:
        grids = [np.asarray(grid, dtype=np.float64) for grid in point_grids]
        if len(grids) < crop_n_layers + 1 or any(grid.ndim != 2 or grid.shape[1] != 2 for grid in grids):
            raise ValueError(
                f"found point_grids of shapes {[grid.shape for grid in grids]}; expected one (N, 2) grid per crop "
                f"layer, {crop_n_layers + 1} for crop_n_layers={crop_n_layers}"
            )
    if points_per_batch < 1:
        raise ValueError(f"found points_per_batch={points_per_batch}; expected at least 1")
    return AutomaskSettings(
        version=version,
        point_grids=tuple(grids),
        points_per_batch=points_per_batch,
        pred_iou_thresh=PRED_IOU_THRESH[version] if pred_iou_thresh is None else pred_iou_thresh,
        stability_score_thresh=stability_score_thresh,
        stability_score_offset=stability_score_offset,
        mask_threshold=mask_threshold,
        box_nms_thresh=box_nms_thresh,
        crop_n_layers=crop_n_layers,
        crop_nms_thresh=crop_nms_thresh,
        crop_overlap_ratio=crop_overlap_ratio,
        min_mask_region_area=min_mask_region_area,
        use_m2m=use_m2m,
        multimask_output=multimask_output,
    )
