"""The official ``SAM2VideoPredictor`` with random weights, fed exactly the frames we encode.

The predictor is built as ``sam2.build_sam.build_sam2_video_predictor`` builds it (its hydra
overrides: dynamic multimask fallback, binarised click masks for memories, ``fill_hole_area=8``),
optionally shrunk like ``official_v2.SMALL_OVERRIDES``, at any input side, and re-randomised as
``official_v2.randomise_`` does. The object-score head gets a positive bias so that the random
network sees the object on most frames (with zero mean scores it would drop it half the time).

``init_state`` only reads videos from JPEG folders or mp4 files, whose decoding and resizing
(PIL, bicubic) differ from ours; :func:`official_state` hands it our own preprocessed frames
instead, so that both sides start from identical tensors.

The predictor fills small holes in its masks (``fill_hole_area=8``) with a CUDA extension and
skips the step on the CPU; :func:`cpu_connected_components` stands in for that extension (patch
it over ``sam2.utils.misc.get_connected_components``) so that it does so here too.
"""

from unittest import mock

import numpy as np
import torch

from official_v2 import CONFIG_FILES, SMALL_OVERRIDES, randomise_
from sam_stack.models.image_input import to_uint8_rgb
from sam_stack.models.v2.preprocessing import to_model_input


def build_official_video_predictor(
    version: str = "v2.1",
    size: str = "tiny",
    seed: int = 0,
    small: bool = True,
    image_size: int = 1024,
    object_score_bias: float = 5.0,
):
    """The official ``SAM2VideoPredictor`` with random weights, in eval mode on the CPU."""
    from sam2.build_sam import build_sam2_video_predictor

    overrides = (SMALL_OVERRIDES if small else []) + [f"++model.image_size={image_size}"]
    predictor = build_sam2_video_predictor(CONFIG_FILES[version, size], ckpt_path=None, device="cpu", hydra_overrides_extra=overrides)
    randomise_(predictor, seed)
    with torch.no_grad():
        predictor.sam_mask_decoder.pred_obj_score_head.layers[-1].bias.add_(object_score_bias)
    return predictor.eval()


def cpu_connected_components(mask_n1hw: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """What ``sam2._C.get_connected_componnets`` returns, with scipy: the 8-connected components
    of each (1, H, W) mask -> labels (N, 1, H, W), 0 off the mask, and each pixel's component area."""
    from scipy import ndimage

    masks = mask_n1hw.cpu().numpy().astype(bool)
    labels = np.zeros(masks.shape, dtype=np.int32)
    areas = np.zeros(masks.shape, dtype=np.int32)
    for index, mask_hw in enumerate(masks[:, 0]):
        labels_hw, _ = ndimage.label(mask_hw, structure=np.ones((3, 3)))
        counts = np.bincount(labels_hw.ravel())
        counts[0] = 0
        labels[index, 0], areas[index, 0] = labels_hw, counts[labels_hw]
    return torch.from_numpy(labels), torch.from_numpy(areas)


def model_input_frames(frames, image_size: int) -> torch.Tensor:
    """(T, H, W[, 3]) frames -> (T, 3, S, S) as ``StackTracker`` feeds them to the encoder."""
    return torch.cat([to_model_input(to_uint8_rgb(frame), (image_size, image_size), torch.device("cpu")) for frame in frames])


def official_state(predictor, frames: np.ndarray) -> dict:
    """``predictor.init_state`` over ``frames``, preprocessed as the tracker does."""
    images = model_input_frames(frames, predictor.image_size)
    height, width = frames.shape[1:3]
    with mock.patch("sam2.sam2_video_predictor.load_video_frames", return_value=(images, height, width)):
        return predictor.init_state(video_path="frames in memory")


