"""SAMURAI mask selection: the box Kalman filter, the choice among candidates, memory selection.

There is no reference package to compare with (SAMURAI ships as a fork of sam2), so the filter
is checked against what a constant-velocity filter must do, and the selector against the rules
of the paper and its released code on hand-made candidates.
"""

import numpy as np
import pytest
import torch

import sam_stack
from official_v2 import save_official_checkpoint
from official_v2_video import build_official_video_predictor
from sam_stack.tasks.stack_tracking import SamuraiSettings, StackTracker
from sam_stack.tasks.stack_tracking.kalman_filter import BoxKalmanFilter, box_iou, xyxy_to_xyah
from sam_stack.tasks.stack_tracking.samurai import SamuraiSelector, mask_boxes


def moving_box(frame: int) -> np.ndarray:
    """A 40 x 20 box moving 6 pixels right and 2 down per frame."""
    return np.array([100 + 6 * frame, 50 + 2 * frame, 140 + 6 * frame, 70 + 2 * frame], dtype=float)


def test_settings_are_the_papers():
    assert SamuraiSettings() == SamuraiSettings(
        kf_score_weight=0.25,
        memory_iou_threshold=0.5,
        memory_object_score_threshold=0.0,
        memory_kf_score_threshold=0.0,
        stable_frames=15,
        stable_iou_threshold=0.3,
    )


def test_boxes_and_their_iou():
    np.testing.assert_allclose(xyxy_to_xyah([10, 20, 50, 40]), [30, 30, 2, 20])
    boxes = np.array([[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30], [0, 0, 0, 0]], dtype=float)
    np.testing.assert_allclose(box_iou(np.array([0.0, 0, 10, 10]), boxes), [1, 1 / 3, 0, 0])


def test_the_filter_learns_a_constant_velocity():
    kalman = BoxKalmanFilter()
    state = kalman.start(moving_box(0))
    np.testing.assert_allclose(state.box_xyxy(), moving_box(0))
    for frame in range(1, 20):
        state = kalman.update(kalman.predict(state), moving_box(frame))
    predicted = kalman.predict(state)
    np.testing.assert_allclose(predicted.box_xyxy(), moving_box(20), atol=0.2)
    np.testing.assert_allclose(predicted.mean[4:6], [6, 2], atol=0.15)
    # The uncertainty stays symmetric positive definite.
    np.testing.assert_allclose(predicted.covariance, predicted.covariance.T, atol=1e-9)
    assert np.linalg.eigvalsh(predicted.covariance).min() > 0


def test_the_selector_prefers_the_candidate_that_moves_as_expected():
    settings = SamuraiSettings(stable_frames=5)
    selector = SamuraiSelector(settings)
    # While the filter warms up, the best predicted IoU wins, whatever its box.
    for frame in range(5):
        index, kf_score = selector.choose(np.stack([moving_box(frame), moving_box(frame) + 300]), np.array([0.9, 0.5]), True)
        assert (index, kf_score) == (0, None)
    # Then a slightly less confident candidate where the motion leads beats a distractor.
    candidates = np.stack([moving_box(5) + 300, moving_box(5)])
    index, kf_score = selector.choose(candidates, np.array([0.92, 0.88]), True)
    assert index == 1 and kf_score > 0.8
    # A distractor much more confident than the motion's candidate still wins (0.75 * 0.4 is the
    # most the motion term can make up).
    index, kf_score = selector.choose(np.stack([moving_box(6) + 300, moving_box(6)]), np.array([0.99, 0.5]), True)
    assert index == 0 and kf_score == 0.0


def test_an_unsure_choice_restarts_the_filter_and_an_absent_object_leaves_it():
    selector = SamuraiSelector(SamuraiSettings(stable_frames=3))
    for frame in range(4):
        selector.choose(moving_box(frame)[None], np.array([0.9]), True)
    state = selector.state
    assert selector.choose(np.zeros((1, 4)), np.array([0.9]), False) == (0, None)
    assert selector.state is state
    selector.choose(moving_box(5)[None], np.array([0.2]), True)
    assert selector.steady_frames == 0
    # The next frame starts the filter again from its box.
    selector.choose(moving_box(40)[None], np.array([0.9]), True)
    np.testing.assert_allclose(selector.state.box_xyxy(), moving_box(40))


@pytest.mark.parametrize(
    ("iou", "object_score", "kf_score", "confident"),
    [(0.6, 1.0, None, True), (0.6, 1.0, 0.2, True), (0.5, 1.0, None, False), (0.6, 0.0, None, False), (0.6, 1.0, 0.0, False)],
)
def test_confident_frames(iou, object_score, kf_score, confident):
    assert SamuraiSelector(SamuraiSettings()).is_confident(iou, object_score, kf_score) is confident


def test_mask_boxes_are_inclusive_pixel_boxes():
    logits = torch.full((1, 2, 8, 8), -5.0)
    logits[0, 0, 2:5, 1:7] = 5.0
    np.testing.assert_array_equal(mask_boxes(logits, (8, 8)), [[1, 2, 6, 4], [0, 0, 0, 0]])
    # Measured on the masks upscaled to the input: 4x the low-res box, minus the blur.
    assert mask_boxes(logits, (32, 32))[0].tolist() == [4, 8, 27, 19]


def test_samurai_tracking_runs_through_a_stack(tmp_path):
    official = build_official_video_predictor("v2.1", image_size=128, seed=12)
    save_official_checkpoint(official, tmp_path / "model.pt")
    model = sam_stack.load_model(tmp_path / "model.pt", device="cpu")
    model.input_size = 128
    frames = np.random.default_rng(0).integers(0, 256, (8, 48, 64), dtype=np.uint8)
    labels = {}
    for settings in (False, SamuraiSettings(stable_frames=2)):
        tracker = StackTracker(model, frames, samurai=settings)
        tracker.add_prompt(0, 1, points=[[30, 20]])
        labels[settings] = tracker.run()
    assert labels[False].shape == labels[SamuraiSettings(stable_frames=2)].shape == (8, 48, 64)
