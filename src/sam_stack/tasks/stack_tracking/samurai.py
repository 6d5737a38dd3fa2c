"""SAMURAI: choosing among the candidate masks of a tracked frame with the help of motion.

SAM 2 keeps the candidate with the highest predicted IoU. SAMURAI (Yang et al., "SAMURAI:
Adapting Segment Anything Model for Zero-Shot Visual Tracking with Motion-Aware Memory",
arXiv:2411.11922) also predicts the object's box with a Kalman filter and keeps the candidate
that maximises

    kf_score_weight * IoU(predicted box, candidate's box) + (1 - kf_score_weight) * predicted IoU

(its eq. 7 with alpha_kf = 0.25), and remembers a frame only when it is confident: predicted IoU
> 0.5, object score > 0 and, once the filter steers the choice, box IoU > 0 (its eq. 9 with
tau_mask = 0.5, tau_obj = 0, tau_kf = 0; see :class:`~.memory_bank.ConfidentRecentFrames`).

From the released code (``sam2/modeling/sam2_base.py`` of yangchris11/samurai) come the parts the
paper leaves out: the filter starts on the first tracked frame and only steers the choice after
15 frames of steady tracking; a chosen candidate with predicted IoU below 0.3 restarts that count.
One change: the official code feeds the filter the box of an absent object (an empty mask, box
(0, 0, 0, 0)), which turns its state into NaN; here frames where the object is absent leave the
filter untouched. Boxes are measured on the masks at the model's input size, as in the official
code.
"""

from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional as F

from .kalman_filter import BoxKalmanFilter, BoxState, box_iou


@dataclass(frozen=True)
class SamuraiSettings:
    """SAMURAI's weights and thresholds; the defaults are the paper's and its released configs'.

    kf_score_weight: alpha_kf, the weight of the box IoU against the predicted mask IoU.
    memory_iou_threshold, memory_object_score_threshold, memory_kf_score_threshold: tau_mask,
        tau_obj, tau_kf: a frame is remembered when its scores are all above these.
    stable_frames: frames of steady tracking before the filter steers the choice.
    stable_iou_threshold: a chosen mask with a lower predicted IoU restarts the filter.
    """

    kf_score_weight: float = 0.25
    memory_iou_threshold: float = 0.5
    memory_object_score_threshold: float = 0.0
    memory_kf_score_threshold: float = 0.0
    stable_frames: int = 15
    stable_iou_threshold: float = 0.3


def mask_boxes(mask_logits_bkhw: torch.Tensor, size_hw: tuple[int, int]) -> np.ndarray:
    """(1, K, h, w) low-res logits -> (K, 4) boxes (x0, y0, x1, y1) of the masks upscaled to
    ``size_hw``, in inclusive pixel indices as SAMURAI measures them; (0, 0, 0, 0) for an empty mask."""
    masks_khw = F.interpolate(mask_logits_bkhw, size=size_hw, mode="bilinear", align_corners=False)[0] > 0
    boxes = np.zeros((masks_khw.shape[0], 4))
    for index, mask_hw in enumerate(masks_khw):
        rows = torch.nonzero(mask_hw.any(dim=1))[:, 0]
        columns = torch.nonzero(mask_hw.any(dim=0))[:, 0]
        if len(rows):
            boxes[index] = [columns[0].item(), rows[0].item(), columns[-1].item(), rows[-1].item()]
    return boxes


class SamuraiSelector:
    """One object's motion model over one pass: picks a candidate per tracked frame."""

    def __init__(self, settings: SamuraiSettings) -> None:
        self.settings = settings
        self.filter = BoxKalmanFilter()
        self.state: BoxState | None = None
        self.steady_frames = 0

    def choose(self, boxes_kxyxy: np.ndarray, ious_k: np.ndarray, present: bool) -> tuple[int, float | None]:
        """The candidate to keep -> (index, its box IoU with the prediction, or None while the
        filter does not steer the choice)."""
        settings = self.settings
        if not present:
            return int(np.argmax(ious_k)), None
        if self.state is None or self.steady_frames == 0:
            best = int(np.argmax(ious_k))
            self.state = self.filter.start(boxes_kxyxy[best])
            self.steady_frames = 1
            return best, None
        self.state = self.filter.predict(self.state)
        if self.steady_frames < settings.stable_frames:
            best = int(np.argmax(ious_k))
            kf_score = None
        else:
            kf_ious_k = box_iou(self.state.box_xyxy(), boxes_kxyxy)
            best = int(np.argmax(settings.kf_score_weight * kf_ious_k + (1 - settings.kf_score_weight) * ious_k))
            kf_score = float(kf_ious_k[best])
        if ious_k[best] < settings.stable_iou_threshold:
            self.steady_frames = 0
        else:
            self.state = self.filter.update(self.state, boxes_kxyxy[best])
            self.steady_frames += 1
        return best, kf_score

    def is_confident(self, iou: float, object_score: float, kf_score: float | None) -> bool:
        """Whether the frame's memory is worth keeping (SAMURAI's memory selection)."""
        settings = self.settings
        return (
            iou > settings.memory_iou_threshold
            and object_score > settings.memory_object_score_threshold
            and (kf_score is None or kf_score > settings.memory_kf_score_threshold)
        )
