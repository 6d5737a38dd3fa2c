"""A constant-velocity Kalman filter on an object's bounding box, as SAMURAI uses it.

SAMURAI (Yang et al., "SAMURAI: Adapting Segment Anything Model for Zero-Shot Visual Tracking
with Motion-Aware Memory", arXiv:2411.11922, section 3.2) predicts where the object's box will
be on the next frame with a linear Kalman filter and prefers the candidate mask whose box agrees
with the prediction. Its released code uses the filter of DeepSORT / ByteTrack, which is what
this is: the state is the box centre (x, y), aspect ratio a = w / h and height h, and their
velocities; process and measurement noise scale with the box height, so the filter behaves the
same for small and large objects.
"""

from dataclasses import dataclass

import numpy as np

# Noise standard deviations relative to the box height (DeepSORT's values, kept by SAMURAI).
POSITION_NOISE = 1.0 / 20
VELOCITY_NOISE = 1.0 / 160
# The aspect ratio is dimensionless; its noise is fixed: in the motion, its velocity, and in
# the measurement.
ASPECT_NOISE = 1e-2
ASPECT_VELOCITY_NOISE = 1e-5
ASPECT_MEASUREMENT_NOISE = 1e-1


@dataclass(frozen=True)
class BoxState:
    """A Gaussian belief about a box: mean (8,) = x, y, a, h and their velocities; covariance (8, 8)."""

    mean: np.ndarray
    covariance: np.ndarray

    def box_xyxy(self) -> np.ndarray:
        """The mean box as (x0, y0, x1, y1)."""
        x, y, aspect, height = self.mean[:4]
        half_w, half_h = aspect * height / 2, height / 2
        return np.array([x - half_w, y - half_h, x + half_w, y + half_h])


def xyxy_to_xyah(box_xyxy) -> np.ndarray:
    """(x0, y0, x1, y1) -> (centre x, centre y, width / height, height)."""
    x0, y0, x1, y1 = np.asarray(box_xyxy, dtype=np.float64)
    width, height = x1 - x0, y1 - y0
    return np.array([x0 + width / 2, y0 + height / 2, width / max(height, 1e-6), height])


class BoxKalmanFilter:
    """Constant-velocity model over one frame step: position += velocity; (x, y, a, h) observed."""

    def __init__(self) -> None:
        self.motion = np.eye(8)
        self.motion[:4, 4:] = np.eye(4)
        self.observation = np.eye(4, 8)

    def start(self, box_xyxy) -> BoxState:
        """A state at the observed box, at rest, with wide uncertainty on the velocities."""
        measured = xyxy_to_xyah(box_xyxy)
        height = measured[3]
        mean = np.concatenate([measured, np.zeros(4)])
        std = np.array(
            [
                2 * POSITION_NOISE * height,
                2 * POSITION_NOISE * height,
                ASPECT_NOISE,
                2 * POSITION_NOISE * height,
                10 * VELOCITY_NOISE * height,
                10 * VELOCITY_NOISE * height,
                ASPECT_VELOCITY_NOISE,
                10 * VELOCITY_NOISE * height,
            ]
        )
        return BoxState(mean, np.diag(std**2))

    def predict(self, state: BoxState) -> BoxState:
        """The belief one frame later."""
        height = state.mean[3]
        std = np.array(
            [
                POSITION_NOISE * height,
                POSITION_NOISE * height,
                ASPECT_NOISE,
                POSITION_NOISE * height,
                VELOCITY_NOISE * height,
                VELOCITY_NOISE * height,
                ASPECT_VELOCITY_NOISE,
                VELOCITY_NOISE * height,
            ]
        )
        mean = self.motion @ state.mean
        covariance = self.motion @ state.covariance @ self.motion.T + np.diag(std**2)
        return BoxState(mean, covariance)

    def update(self, state: BoxState, box_xyxy) -> BoxState:
        """The belief after observing the box ``box_xyxy`` on the current frame."""
        height = state.mean[3]
        measurement_std = np.array(
            [POSITION_NOISE * height, POSITION_NOISE * height, ASPECT_MEASUREMENT_NOISE, POSITION_NOISE * height]
        )
        projected_covariance = self.observation @ state.covariance @ self.observation.T + np.diag(measurement_std**2)
        cross_covariance = state.covariance @ self.observation.T
        gain = np.linalg.solve(projected_covariance, cross_covariance.T).T
        innovation = xyxy_to_xyah(box_xyxy) - self.observation @ state.mean
        mean = state.mean + gain @ innovation
        covariance = state.covariance - gain @ projected_covariance @ gain.T
        return BoxState(mean, covariance)


def box_iou(box_xyxy: np.ndarray, boxes_kxyxy: np.ndarray) -> np.ndarray:
    """IoU of one box with K boxes (K, 4) -> (K,); 0 where the union is empty."""
    top_left = np.maximum(box_xyxy[:2], boxes_kxyxy[:, :2])
    bottom_right = np.minimum(box_xyxy[2:], boxes_kxyxy[:, 2:])
    intersection = np.clip(bottom_right - top_left, 0, None).prod(axis=1)
    area = np.clip(box_xyxy[2:] - box_xyxy[:2], 0, None).prod()
    areas = np.clip(boxes_kxyxy[:, 2:] - boxes_kxyxy[:, :2], 0, None).prod(axis=1)
    union = area + areas - intersection
    return np.where(union > 0, intersection / np.where(union > 0, union, 1), 0.0)
