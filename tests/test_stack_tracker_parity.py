"""Parity of ``StackTracker`` with the official ``SAM2VideoPredictor`` on the same random weights.

Both sides get the same re-randomised weights (the official predictor built as
``build_sam2_video_predictor`` builds it, saved as an official checkpoint, loaded by
``sam_stack.load_model``), the same frames (the official ``init_state`` is handed our
preprocessed frames, see ``official_v2_video``) and the same prompts, and every propagated
frame's masks are compared.

Tolerance: per frame and object, IoU >= 0.99 (two empty masks count as equal). Both sides run the
same float32 operations in the same order, with memories stored in bfloat16 on both; the
low-resolution logits agree to about 1e-5 and in practice every mask is identical (IoU 1.0). A
bug in the memory selection (a slot, a pointer distance, a missed no-object rule) changes masks
by far more.

Where several objects overlap, the official rule (``non_overlap_masks``, which the tracker
applies by default) gives each pixel to the object with the highest logit. A random network
attends almost uniformly to its memories, so it gives two objects nearly the same logits on
tracked frames, and at many of their pixels the winner is decided by differences of 1e-6 that
float rounding may flip: those pixels (official top logit > 0 and the top two within 1e-3) are
left out of that comparison. Each object's own mask (``exclusive=False``, the official default)
is compared in full.

The official predictor's hole filling (``fill_hole_area=8``), which needs a CUDA extension, runs
here on the CPU with a stand-in for that extension (``official_v2_video``), so both sides fill
holes as the official predictor does on a GPU.

The everyday suite uses a shrunk model (``official_v2.SMALL_OVERRIDES``) at a 128-pixel input
(one scenario at 256), which runs every code path in seconds; the released tiny architecture at
1024 pixels runs in the ``slow`` set.
"""

import numpy as np
import pytest
import sam2.utils.misc
import torch

import sam_stack
from official_v2 import save_official_checkpoint
from official_v2_video import build_official_video_predictor, cpu_connected_components, official_state
from sam_stack.tasks.stack_tracking import StackTracker

MIN_IOU = 0.99
TIE_MARGIN = 1e-3
NUM_FRAMES = 9  # a prompted frame and 8 propagated ones
FRAME_HW = (96, 128)


# ---------------------------------------------------------------------------------- helpers


@pytest.fixture(autouse=True)
def official_hole_filling(monkeypatch):
    monkeypatch.setattr(sam2.utils.misc, "get_connected_components", cpu_connected_components)


class Pair:
    """An official predictor and our model with the same weights."""

    def __init__(self, tmp_path, version: str, image_size: int, seed: int, small: bool = True) -> None:
        self.official = build_official_video_predictor(version, image_size=image_size, seed=seed, small=small)
        path = tmp_path / f"sam2_{version}_{image_size}.pt"
        save_official_checkpoint(self.official, path)
        self.model = sam_stack.load_model(path, device="cpu")
        self.model.input_size = image_size

    def start(self, frames: np.ndarray):
        """A fresh tracker and official inference state over ``frames``."""
        return StackTracker(self.model, frames), official_state(self.official, frames)


@pytest.fixture(scope="module")
def pairs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("checkpoints")
    made = {}

    def get(version: str, image_size: int = 128) -> Pair:
        if (version, image_size) not in made:
            made[version, image_size] = Pair(folder, version, image_size, seed=3)
        return made[version, image_size]

    return get


def random_frames(seed: int, rgb: bool = False, dtype=np.uint8) -> np.ndarray:
    shape = (NUM_FRAMES, *FRAME_HW, 3) if rgb else (NUM_FRAMES, *FRAME_HW)
    return np.random.default_rng(seed).integers(0, 256, shape).astype(dtype)


def official_frames(predictor, state, start=None, reverse=False, before_frame=None, exclusive=True):
    """{frame: ({object id: (H, W) bool}, (H, W) bool ties)} from ``propagate_in_video``.

    The official predictor is built without ``non_overlap_masks`` so that its raw logits show
    where two objects are tied; with ``exclusive`` the masks are then made with its own
    non-overlap constraint. ``before_frame(frame)`` runs before each frame is computed.
    """
    results = {}
    frames = predictor.propagate_in_video(state, start_frame_idx=start, reverse=reverse)
    frame = start
    while True:
        if before_frame is not None and frame is not None:
            before_frame(frame)
        item = next(frames, None)
        if item is None:
            return results
        frame, object_ids, logits_k1hw = item
        # Ties are read off the raw logits: the constraint pushes every loser far below its winner.
        top_two = logits_k1hw[:, 0].topk(min(2, len(object_ids)), dim=0).values
        tied = exclusive and len(object_ids) > 1
        if exclusive:
            logits_k1hw = predictor._apply_non_overlapping_constraints(logits_k1hw)
        masks_khw = (logits_k1hw[:, 0] > 0).numpy()
        ties_hw = ((top_two[0] > 0) & (top_two[0] - top_two[-1] < TIE_MARGIN)).numpy() if tied else np.zeros(masks_khw.shape[1:], bool)
        results[frame] = (dict(zip(object_ids, masks_khw, strict=True)), ties_hw)
        frame = frame + (-1 if reverse else 1)


def our_frames(tracker, start=None, reverse=False, before_frame=None):
    """{frame: {object id: (H, W) bool}} from ``tracker.propagate``."""
    results = {}
    frames = tracker.propagate(start=start, reverse=reverse)
    frame = start
    while True:
        if before_frame is not None and frame is not None:
            before_frame(frame)
        item = next(frames, None)
        if item is None:
            return results
        frame, masks = item
        results[frame] = masks
        frame = frame + (-1 if reverse else 1)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = (a | b).sum()
    return 1.0 if union == 0 else float((a & b).sum() / union)


def assert_same_masks(ours: dict, official: dict) -> list[float]:
    """Same frames, same objects, IoU >= MIN_IOU outside tied pixels -> the IoUs."""
    assert sorted(ours) == sorted(official)
    ious = []
    for frame, (official_masks, ties_hw) in official.items():
        assert list(ours[frame]) == list(official_masks), f"frame {frame}"
        for object_id, official_mask in official_masks.items():
            value = iou(ours[frame][object_id] & ~ties_hw, official_mask & ~ties_hw)
            assert value >= MIN_IOU, f"frame {frame}, object {object_id}: IoU {value:.4f}"
            ious.append(value)
    return ious


def official_points(predictor, state, frame, object_id, points=None, labels=None, box=None):
    kwargs = {}
    if points is not None:
        kwargs = dict(points=np.asarray(points, np.float32), labels=np.asarray(labels, np.int32))
    if box is not None:
        kwargs["box"] = np.asarray(box, np.float32)
    with torch.inference_mode():
        return predictor.add_new_points_or_box(state, frame, object_id, **kwargs)


# ------------------------------------------------------------------------------- scenarios


@pytest.mark.parametrize(("version", "image_size"), [("v2.1", 128), ("v2", 128), ("v2.1", 256)])
def test_points_on_the_first_frame(pairs, version, image_size):
    pair = pairs(version, image_size)
    frames = random_frames(seed=1, rgb=True)
    tracker, state = pair.start(frames)
    prompted = tracker.add_prompt(0, 1, points=[[60, 40]], point_labels=[1])
    _, _, official_logits = official_points(pair.official, state, 0, 1, points=[[60, 40]], labels=[1])
    assert iou(prompted[1], (official_logits[0, 0] > 0).numpy()) == 1.0

    ious = assert_same_masks(our_frames(tracker), official_frames(pair.official, state))
    assert len(ious) == NUM_FRAMES


def test_box_start(pairs):
    pair = pairs("v2.1")
    frames = random_frames(seed=2)
    tracker, state = pair.start(frames)
    tracker.add_prompt(0, 7, box=[20, 10, 80, 70])
    official_points(pair.official, state, 0, 7, box=[20, 10, 80, 70])
    assert_same_masks(our_frames(tracker), official_frames(pair.official, state))


@pytest.mark.parametrize("version", ["v2.1", "v2"])
def test_mask_start(pairs, version):
    pair = pairs(version)
    frames = random_frames(seed=3)
    mask = np.zeros(FRAME_HW, bool)
    mask[30:60, 40:90] = True
    tracker, state = pair.start(frames)
    tracker.add_prompt(0, 1, mask=mask)
    with torch.inference_mode():
        pair.official.add_new_mask(state, 0, 1, mask)
    assert_same_masks(our_frames(tracker), official_frames(pair.official, state))


def test_reverse_from_the_last_frame(pairs):
    pair = pairs("v2.1")
    frames = random_frames(seed=4, rgb=True)
    last = NUM_FRAMES - 1
    tracker, state = pair.start(frames)
    tracker.add_prompt(last, 1, points=[[60, 40], [20, 20]], point_labels=[1, 0])
    official_points(pair.official, state, last, 1, points=[[60, 40], [20, 20]], labels=[1, 0])
    ours = our_frames(tracker, reverse=True)
    assert sorted(ours) == list(range(NUM_FRAMES))
    assert_same_masks(ours, official_frames(pair.official, state, start=last, reverse=True))


@pytest.mark.parametrize("exclusive", [False, True])
def test_two_objects(pairs, exclusive):
    """Each object's own mask (``exclusive=False``, the official default), and the masks with
    overlaps resolved by the official rule."""
    pair = pairs("v2.1")
    frames = random_frames(seed=5)
    _, state = pair.start(frames)
    tracker = StackTracker(pair.model, frames, exclusive=exclusive)
    tracker.add_prompt(0, 1, points=[[60, 40]])
    tracker.add_prompt(0, 2, box=[70, 20, 120, 90])
    official_points(pair.official, state, 0, 1, points=[[60, 40]], labels=[1])
    official_points(pair.official, state, 0, 2, box=[70, 20, 120, 90])
    assert_same_masks(our_frames(tracker), official_frames(pair.official, state, exclusive=exclusive))


def test_second_prompted_frame_and_uint16_frames(pairs):
    """A second prompt further on is a conditioning frame for the frames around it; frames of
    any dtype are mapped to 8 bits as for single images."""
    pair = pairs("v2.1")
    frames = random_frames(seed=6, dtype=np.uint16) * 200
    tracker, state = pair.start(frames)
    tracker.add_prompt(0, 1, points=[[60, 40]])
    tracker.add_prompt(5, 1, points=[[30, 70], [90, 20]], point_labels=[1, 1])
    official_points(pair.official, state, 0, 1, points=[[60, 40]], labels=[1])
    official_points(pair.official, state, 5, 1, points=[[30, 70], [90, 20]], labels=[1, 1])
    assert_same_masks(our_frames(tracker), official_frames(pair.official, state))


@pytest.mark.parametrize("version", ["v2.1", "v2"])
def test_object_leaves_and_returns(pairs, version):
    """On frames 3 and 4 the object-score head says "absent" (its bias is lowered on both
    networks while those frames are computed): both give empty masks there, remember the
    absence (no-object pointer, v2.1's no-object memory embedding) and pick the object up
    again afterwards."""
    pair = pairs(version)
    frames = random_frames(seed=7)
    tracker, state = pair.start(frames)
    tracker.add_prompt(0, 1, points=[[60, 40]])
    official_points(pair.official, state, 0, 1, points=[[60, 40]], labels=[1])
    heads = [
        network.sam_mask_decoder.pred_obj_score_head.layers[-1].bias
        for network in (pair.model.network, pair.official)
    ]
    present_bias = [head.clone() for head in heads]

    def before_frame(frame):
        with torch.no_grad():
            for head, bias in zip(heads, present_bias, strict=True):
                head.copy_(bias - 100 if frame in (3, 4) else bias)

    try:
        ours = our_frames(tracker, before_frame=before_frame)
        official = official_frames(pair.official, state, before_frame=before_frame)
    finally:
        before_frame(None)
    assert_same_masks(ours, official)
    assert not ours[3][1].any() and not ours[4][1].any()
    assert all(ours[frame][1].any() for frame in (1, 2, 5, 6, 7, 8))


@pytest.mark.slow
def test_released_tiny_architecture_at_1024(tmp_path):
    pair = Pair(tmp_path, "v2.1", image_size=1024, seed=8, small=False)
    frames = np.random.default_rng(8).integers(0, 256, (4, 192, 256, 3), dtype=np.uint8)
    tracker, state = pair.start(frames)
    tracker.add_prompt(0, 1, points=[[120, 90]])
    tracker.add_prompt(0, 2, box=[20, 30, 90, 150])
    official_points(pair.official, state, 0, 1, points=[[120, 90]], labels=[1])
    official_points(pair.official, state, 0, 2, box=[20, 30, 90, 150])
    assert_same_masks(our_frames(tracker), official_frames(pair.official, state))
