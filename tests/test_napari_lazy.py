"""Lazy images in napari: the long runs read a dask image plane by plane, and their objects go
into a zarr-backed Labels layer rather than a volume in memory.

The model side is replaced by the stand-ins of ``test_napari_runs``; what is counted here is
which parts of the image are read, and what array the new Labels layer holds.
"""

import dask.array as da
import numpy as np
import pytest
import zarr
from qtpy.QtCore import Qt

import sam_stack
from official_v1 import SMALL_VIT, build_official_sam, save_official_checkpoint
from sam_stack._napari.everything_panel import EVERY_PLANE
from sam_stack._napari.labels_writing import new_labels_data, next_free_label
from sam_stack._napari.segment_widget import SamStackWidget
from test_napari_runs import StandInTracker, stand_in_generate_masks, stand_in_masks_to_labels, wait_for_run

pytestmark = pytest.mark.gui

SHAPE = (4, 32, 32)
WAIT_MS = 30_000


class CountedPlanes:
    """A (T, H, W) array that records which planes each read covers."""

    def __init__(self, array: np.ndarray) -> None:
        self._array = array
        self.shape, self.dtype, self.ndim = array.shape, array.dtype, array.ndim
        self.reads: list[range] = []

    def __getitem__(self, key):
        block = self._array[key]
        first = key[0] if isinstance(key, tuple) else key
        if block.size:
            is_slice = isinstance(first, slice)
            self.reads.append(range(*first.indices(self.shape[0])) if is_slice else range(first, first + 1))
        return block


class CacheRecordingTracker(StandInTracker):
    caches: list = []

    def __init__(self, model, frames, samurai=False, embedding_cache=None) -> None:
        super().__init__(model, frames, samurai)
        CacheRecordingTracker.caches.append(embedding_cache)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp("sam") / "sam_small.pth"
    save_official_checkpoint(build_official_sam(SMALL_VIT, seed=2), path)
    return path


@pytest.fixture
def lazy_widget(make_napari_viewer, qtbot, checkpoint, monkeypatch):
    """A dask image of 4 planes (one chunk each) on plane 1, no Labels layer, the stand-ins."""
    monkeypatch.setattr(sam_stack, "StackTracker", CacheRecordingTracker)
    monkeypatch.setattr(sam_stack, "generate_masks", stand_in_generate_masks)
    monkeypatch.setattr(sam_stack, "masks_to_labels", stand_in_masks_to_labels)
    CacheRecordingTracker.created, CacheRecordingTracker.caches = [], []
    source = CountedPlanes(np.random.default_rng(0).integers(0, 256, SHAPE, dtype=np.uint8))
    viewer = make_napari_viewer()
    viewer.add_image(da.from_array(source, chunks=(1, *SHAPE[1:])), name="lazy", contrast_limits=(0, 255))
    viewer.dims.current_step = (1, 0, 0)
    widget = SamStackWidget(viewer)
    viewer.window.add_dock_widget(widget)
    widget.model_panel.path.setText(str(checkpoint))
    widget.model_panel.device.setCurrentText("cpu")
    widget.model_panel.start_loading()
    qtbot.waitUntil(lambda: widget.model is not None and widget.points_combo.layer is not None, timeout=WAIT_MS)
    monkeypatch.setattr(widget.model, "version", "v2.1")  # the stand-in tracker ignores the model
    source.reads.clear()
    return viewer, widget, source


def assert_read_plane_by_plane(source, most_reads_per_plane: int) -> None:
    assert source.reads, "nothing was read"
    assert all(len(planes) == 1 for planes in source.reads), f"reads of several planes at once: {source.reads}"
    per_plane = np.bincount([planes[0] for planes in source.reads], minlength=SHAPE[0])
    assert per_plane.max() <= most_reads_per_plane, f"planes read {per_plane.tolist()} times"
    return per_plane


def test_segment_everything_reads_a_dask_image_plane_by_plane_into_zarr_labels(lazy_widget, qtbot):
    viewer, widget, source = lazy_widget
    panel = widget.everything
    panel.scope.setCurrentText(EVERY_PLANE)
    qtbot.mouseClick(panel.start_button, Qt.LeftButton)
    wait_for_run(qtbot, panel)

    per_plane = assert_read_plane_by_plane(source, most_reads_per_plane=3)
    assert per_plane.min() >= 1
    labels = widget.labels_combo.layer
    assert isinstance(labels.data, zarr.Array) and labels.data.shape == SHAPE
    pixels = source._array
    for plane in range(SHAPE[0]):
        expected = stand_in_masks_to_labels(stand_in_generate_masks(None, pixels[plane]), SHAPE[1:])
        np.testing.assert_array_equal(labels.data[plane] > 0, expected > 0)
    assert next_free_label(labels) == 1 + int(np.max(labels.data[...]))


def test_propagation_reads_a_dask_image_frame_by_frame_and_keeps_one_embedding_cache(lazy_widget, qtbot):
    viewer, widget, source = lazy_widget
    widget.points_combo.layer.add([[1, 16, 16]])
    panel = widget.propagation
    qtbot.mouseClick(panel.start_button, Qt.LeftButton)
    wait_for_run(qtbot, panel)

    assert_read_plane_by_plane(source, most_reads_per_plane=3)
    labels = widget.labels_combo.layer
    assert isinstance(labels.data, zarr.Array)
    assert [int(labels.data[plane][16 + plane - 1, 16]) for plane in range(SHAPE[0])] == [1] * SHAPE[0]
    widget.points_combo.layer.add([[1, 4, 4]])
    qtbot.mouseClick(panel.start_button, Qt.LeftButton)
    wait_for_run(qtbot, panel)
    assert CacheRecordingTracker.caches == [widget.embedding_cache] * 2
    qtbot.waitUntil(lambda: not widget.is_busy(), timeout=WAIT_MS)  # the preview of the points


def test_images_in_memory_keep_numpy_labels_and_memory_maps_get_zarr(tmp_path):
    assert type(new_labels_data((2, 8, 8), np.zeros((2, 8, 8)))) is np.ndarray
    mapped = np.lib.format.open_memmap(tmp_path / "stack.npy", mode="w+", dtype=np.uint8, shape=(2, 8, 8))
    labels = new_labels_data((2, 8, 8), mapped)
    assert isinstance(labels, zarr.Array) and labels.dtype == np.uint32 and not labels[...].any()
