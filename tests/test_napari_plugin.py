"""The plugin as napari sees it: a valid manifest, a widget napari opens, and the sample data."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sam_stack._napari.segment_widget import SamStackWidget
from sam_stack.sample_data import moving_cells

MANIFEST = Path(__file__).resolve().parents[1] / "src" / "sam_stack" / "napari.yaml"


def test_npe2_validates_the_manifest():
    npe2 = Path(sys.executable).with_name("npe2")
    result = subprocess.run([npe2, "validate", MANIFEST], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_sample_is_a_small_time_lapse_of_separate_moving_cells():
    movie = moving_cells()
    assert movie.shape == (8, 128, 128) and movie.dtype == np.uint16
    np.testing.assert_array_equal(movie, moving_cells())  # the same every time
    bright = movie > 400
    assert 0.05 < bright.mean() < 0.4
    assert not np.array_equal(bright[0], bright[-1])  # the cells move


@pytest.mark.gui
def test_napari_opens_the_sample_and_the_widget_from_the_plugin(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    viewer.open_sample("napari-sam-stack", "moving-cells")
    assert viewer.layers[0].data.shape == (8, 128, 128)
    _, widget = viewer.window.add_plugin_dock_widget("napari-sam-stack", "Segment Anything")
    assert isinstance(widget, SamStackWidget)
    assert widget.image_combo.layer is viewer.layers[0]
    # The widget adds the layers to click and draw in, lying on the image.
    qtbot.waitUntil(lambda: widget.points_combo.layer is not None)
    assert [layer.name for layer in viewer.layers] == ["moving cells", "SAM boxes", "SAM points"]
    assert widget.points_combo.layer.ndim == 3 and widget.points_combo.layer.mode == "add"
