"""The automatic mask generator ("segment everything"): ``generate_masks``, ``iter_masks``,
``masks_to_labels``, ``generate_labels_stack``, ``generate_labels_tiled`` (images larger than the model
input, tile by tile), and its building blocks as pure functions.

Each building block matches the official ``segment_anything`` / ``sam2`` helper of the same name
(see each docstring for the few documented differences); the generator composes them.
"""

from .boxes import batched_mask_to_box, box_area, box_xyxy_to_xywh, is_box_near_crop_edge
from .crops import generate_crop_boxes, uncrop_boxes_xyxy, uncrop_masks, uncrop_points
from .generate import generate_masks, iter_masks
from .grid import build_all_layer_point_grids, build_point_grid, scale_points_to_crop
from .labels import generate_labels_stack, masks_to_labels
from .nms import batched_nms, nms
from .records import mask_record
from .regions import clean_small_regions, postprocess_small_regions, remove_small_regions
from .stability import calculate_stability_score
from .tiled import generate_labels_tiled

__all__ = [
    "batched_mask_to_box",
    "batched_nms",
    "box_area",
    "box_xyxy_to_xywh",
    "build_all_layer_point_grids",
    "build_point_grid",
    "calculate_stability_score",
    "clean_small_regions",
    "generate_crop_boxes",
    "generate_labels_stack",
    "generate_labels_tiled",
    "generate_masks",
    "is_box_near_crop_edge",
    "iter_masks",
    "mask_record",
    "masks_to_labels",
    "nms",
    "postprocess_small_regions",
    "remove_small_regions",
    "scale_points_to_crop",
    "uncrop_boxes_xyxy",
    "uncrop_masks",
    "uncrop_points",
]
