"""The long runs of the widget: segment everything and propagation through a stack.

These test the widget's side: which planes and objects it hands over, how results are written
plane by plane, that a finished run is one undo step and that a cancelled run leaves the Labels
layer as it was. The model side (``sam_stack.generate_masks``, ``masks_to_labels`` and
``StackTracker``) is replaced by small stand-ins with the documented signatures, which make
predictable masks; the model functions have tests of their own.
"""

import time

import numpy as np
import pytest
from qtpy.QtCore import Qt

import sam_stack
from sam_stack.models import bfloat16_is_fast
from official_v1 import SMALL_VIT, build_official_sam, save_official_checkpoint
from sam_stack._napari.segment_widget import SamStackWidget
from sam_stack.tasks.display_normalisation import to_display_uint8

pytestmark = pytest.mark.gui

WAIT_MS = 30_000


class StandInTracker:
    """``StackTracker``'s interface; each object moves down one row per frame from its prompt."""

    created: list = []

    def __init__(self, model, frames, samurai=False, embedding_cache=None) -> None:
        self.frames = frames
        self.start_masks = {}
        self.delay = 0.0
        StandInTracker.created.append(self)

    def add_prompt(self, frame, object_id, points=None, point_labels=None, box=None, mask=None):
        self.prompt_frame = frame
        if mask is None:  # a point prompt: a small square around the first point
            mask = np.zeros(self.frames.shape[1:3], dtype=bool)
            x, y = np.round(points[0]).astype(int)
            mask[y - 2 : y + 3, x - 2 : x + 3] = True
        self.start_masks[object_id] = mask

    def propagate(self, start=None, reverse=False):
        frames = range(start, -1, -1) if reverse else range(start, len(self.frames))
        for frame in frames:
            self.frames[frame]  # read as the real tracker reads them
            time.sleep(self.delay)
            yield frame, {key: np.roll(mask, frame - start, axis=0) for key, mask in self.start_masks.items()}


def stand_in_generate_masks(model, image, points_per_side=32):
    """Two objects: the bright pixels of the left and of the right half."""
    bright = np.asarray(image) > 128
    left, right = bright.copy(), bright.copy()
    left[:, image.shape[1] // 2 :] = False
    right[:, : image.shape[1] // 2] = False
    return [{"segmentation": left, "area": int(left.sum())}, {"segmentation": right, "area": int(right.sum())}]


def stand_in_masks_to_labels(records, image_hw=None):
    labels = np.zeros(image_hw, dtype=np.uint32)
    for number, record in enumerate(records, start=1):
        labels[record["segmentation"]] = number
    return labels


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp("sam") / "sam_small.pth"
    save_official_checkpoint(build_official_sam(SMALL_VIT, seed=2), path)
    return path


@pytest.fixture
def stack_widget(make_napari_viewer, qtbot, checkpoint, monkeypatch):
    """A (5, 32, 32) stack on plane 2, a Labels layer with object 3 there, and the stand-ins."""
    monkeypatch.setattr(sam_stack, "StackTracker", StandInTracker)
    monkeypatch.setattr(sam_stack, "generate_masks", stand_in_generate_masks)
    monkeypatch.setattr(sam_stack, "masks_to_labels", stand_in_masks_to_labels)
    StandInTracker.created = []
    viewer = make_napari_viewer()
    image = np.random.default_rng(0).integers(0, 1000, (5, 32, 32)).astype(np.uint16)
    viewer.add_image(image, name="stack", contrast_limits=(0, 1000))
    labels = viewer.add_labels(np.zeros((5, 32, 32), dtype=np.uint32), name="objects")
    labels.data[2, 4:8, 4:8] = 3
    viewer.dims.current_step = (2, 0, 0)
    widget = SamStackWidget(viewer)
    viewer.window.add_dock_widget(widget)
    widget.model_panel.path.setText(str(checkpoint))
    widget.model_panel.device.setCurrentText("cpu")
    widget.model_panel.start_loading()
    qtbot.waitUntil(lambda: widget.model is not None and widget.points_combo.layer is not None, timeout=WAIT_MS)
    widget.labels_combo.choose(labels)
    # The stand-in tracker ignores the model; the widget only checks that it can propagate.
    monkeypatch.setattr(widget.model, "version", "v2.1")
    return viewer, widget, image, labels


def wait_for_run(qtbot, panel):
    qtbot.waitUntil(lambda: panel.start_button.isEnabled(), timeout=WAIT_MS)


def test_propagation_writes_every_plane_as_one_undo_step(stack_widget, qtbot):
    viewer, widget, image, labels = stack_widget
    before = labels.data.copy()
    widget.points_combo.layer.add([[2, 20, 20]])  # a second object, from a point
    panel = widget.propagation
    assert panel.axis.currentData() == 0 and (panel.first.value(), panel.last.value()) == (0, 4)
    qtbot.mouseClick(panel.start_button, Qt.LeftButton)
    wait_for_run(qtbot, panel)

    tracker = StandInTracker.created[-1]
    assert tracker.prompt_frame == 2 and set(tracker.start_masks) == {3, 4}
    assert tracker.frames.shape == (5, 32, 32)
    np.testing.assert_array_equal(tracker.frames[1], to_display_uint8(image[1], (0, 1000)))
    for plane in range(5):
        shift = plane - 2
        np.testing.assert_array_equal(np.argwhere(labels.data[plane] == 3).min(axis=0), (4 + shift, 4))
        np.testing.assert_array_equal(np.argwhere(labels.data[plane] == 4).min(axis=0), (18 + shift, 18))
    assert len(widget.points_combo.layer.data) == 0  # the point is object 4 now
    assert "one undo step" in panel.status.text()

    labels.undo()
    np.testing.assert_array_equal(labels.data, before)


def test_propagation_over_a_range_forward_only(stack_widget, qtbot):
    viewer, widget, image, labels = stack_widget
    panel = widget.propagation
    panel.first.setValue(1)
    panel.last.setValue(3)
    panel.direction.setCurrentText("forward")
    panel.start()
    wait_for_run(qtbot, panel)
    assert StandInTracker.created[-1].frames.shape[0] == 3  # planes 1 to 3
    assert [bool((labels.data[plane] == 3).any()) for plane in range(5)] == [False, False, True, True, False]


def test_a_cancelled_propagation_leaves_the_labels_as_they_were(stack_widget, qtbot, monkeypatch):
    viewer, widget, image, labels = stack_widget
    before = labels.data.copy()
    slow_init = StandInTracker.__init__

    def slow(self, model, frames, samurai=False, embedding_cache=None):
        slow_init(self, model, frames, samurai)
        self.delay = 0.3

    monkeypatch.setattr(StandInTracker, "__init__", slow)
    panel = widget.propagation
    panel.start()
    qtbot.waitUntil(lambda: (labels.data[3] == 3).any(), timeout=WAIT_MS)  # the run has written a plane
    qtbot.mouseClick(panel.cancel_button, Qt.LeftButton)
    wait_for_run(qtbot, panel)
    assert "Cancelled" in panel.status.text()
    np.testing.assert_array_equal(labels.data, before)


def test_segment_everything_on_every_plane_adds_new_objects_in_one_undo_step(stack_widget, qtbot):
    viewer, widget, image, labels = stack_widget
    before = labels.data.copy()
    panel = widget.everything
    panel.scope.setCurrentText("every plane")
    qtbot.mouseClick(panel.start_button, Qt.LeftButton)
    wait_for_run(qtbot, panel)

    for plane in range(5):
        bright = to_display_uint8(image[plane], (0, 1000)) > 128
        free = before[plane] == 0
        np.testing.assert_array_equal(labels.data[plane] > 3, bright & free)
    np.testing.assert_array_equal(labels.data[2, 4:8, 4:8], 3)  # the existing object is kept
    assert len(np.unique(labels.data)) == 1 + 1 + 2 * 5  # background, object 3, two per plane
    labels.undo()
    np.testing.assert_array_equal(labels.data, before)


def test_propagation_with_the_real_tracker_gives_what_the_api_gives(make_napari_viewer, qtbot, tmp_path):
    """No stand-in: a tiny SAM 2.1 saved in the official format carries a label of plane 0 along
    the stack, and the Labels layer gets exactly the masks ``StackTracker`` gives for it."""
    from official_v2 import save_official_checkpoint as save_v2_checkpoint
    from official_v2_video import build_official_video_predictor

    path = tmp_path / "sam2.1_small.pt"
    save_v2_checkpoint(build_official_video_predictor("v2.1", image_size=128, seed=11), path)
    frames = np.random.default_rng(0).integers(0, 256, (4, 48, 64), dtype=np.uint8)
    viewer = make_napari_viewer()
    viewer.add_image(frames, name="stack", contrast_limits=(0, 255))
    labels = viewer.add_labels(np.zeros(frames.shape, dtype=np.uint32), name="objects")
    labels.data[0, 10:30, 20:40] = 5
    prompt = labels.data[0] == 5  # the run paints plane 0 too, with the mask decoded from this
    viewer.dims.current_step = (0, 0, 0)
    widget = SamStackWidget(viewer)
    viewer.window.add_dock_widget(widget)
    widget.model_panel.path.setText(str(path))
    widget.model_panel.device.setCurrentText("cpu")
    widget.model_panel.start_loading()
    qtbot.waitUntil(lambda: widget.model is not None, timeout=WAIT_MS)
    widget.model.input_size = 128  # the size the tiny model was built for
    # The box follows the hardware after a load; unticked, the run is the float32 API's own arithmetic.
    model_panel = widget.model_panel
    assert model_panel.bfloat16.isEnabled()
    assert model_panel.bfloat16.isChecked() == widget.model.use_bfloat16 == bfloat16_is_fast("cpu")
    assert ("bfloat16" in model_panel.status.text()) == bfloat16_is_fast("cpu")
    model_panel.bfloat16.setChecked(False)
    assert widget.model.use_bfloat16 is False
    widget.labels_combo.choose(labels)
    panel = widget.propagation
    panel.direction.setCurrentText("forward")
    panel.start()
    wait_for_run(qtbot, panel)

    tracker = sam_stack.StackTracker(widget.model, frames)
    tracker.add_prompt(0, 5, mask=prompt)
    expected = dict(tracker.propagate(start=0))
    assert any(expected[frame][5].any() for frame in (1, 2, 3)), "the object was lost: a weak test"
    for frame in (0, 1, 2, 3):
        np.testing.assert_array_equal(labels.data[frame], np.where(expected[frame][5], 5, 0))
