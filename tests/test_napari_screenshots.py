"""Screenshots of napari with the plugin docked, for the README: ``docs/images/``.

They are made on the sample time-lapse with the small random-weight model of the tests (no real
weights can be downloaded where the tests run). Such a model's masks are empty, the whole image,
or stripes; the weights and prompts here are those whose best-scored candidate (the one the
widget shows) is empty, so that the pictures show the image, the prompts and the widget without
a meaningless overlay. Look at them after a change of the widget.
"""

from pathlib import Path

import pytest
from napari.settings import get_settings

from official_v1 import SMALL_VIT, build_official_sam, save_official_checkpoint
from sam_stack._napari.vertical_scroll_area import VerticalScrollArea

IMAGES = Path(__file__).resolve().parents[1] / "docs" / "images"
WAIT_MS = 30_000


@pytest.mark.gui
def test_screenshots_of_napari_with_the_widget(make_napari_viewer, qtbot, tmp_path, monkeypatch):
    monkeypatch.setattr(get_settings().application, "gui_notification_level", "none")  # no pop-ups in the pictures
    checkpoint = tmp_path / "sam-random-weights.pth"
    save_official_checkpoint(build_official_sam(SMALL_VIT, seed=0), checkpoint)

    viewer = make_napari_viewer(show=True)
    viewer.window._qt_window.resize(1440, 900)
    viewer.open_sample("napari-sam-stack", "moving-cells")
    _, widget = viewer.window.add_plugin_dock_widget("napari-sam-stack", "Segment Anything")
    widget.model_panel.path.setText(str(checkpoint))
    widget.model_panel.device.setCurrentText("cpu")
    widget.model_panel.start_loading()
    qtbot.waitUntil(lambda: widget.model is not None and widget.points_combo.layer is not None, timeout=WAIT_MS)
    viewer.dims.current_step = (3, 0, 0)

    # The cell at the bottom left: a point on it, a negative point on its neighbour, a box round it.
    points = widget.points_combo.layer
    points.add([[3, 100, 22]])
    widget.toggle_polarity()
    points.add([[3, 106, 58]])
    widget.toggle_polarity()
    widget.boxes_combo.layer.add_rectangles([[[3, 86, 8], [3, 86, 36], [3, 114, 36], [3, 114, 8]]])
    qtbot.waitUntil(lambda: not widget.is_busy(), timeout=WAIT_MS)
    qtbot.wait(200)  # let the canvas draw

    IMAGES.mkdir(parents=True, exist_ok=True)
    viewer.screenshot(IMAGES / "napari-segment-anything.png", canvas_only=False)

    scroll = widget.findChild(VerticalScrollArea)
    scroll.verticalScrollBar().setValue(scroll.verticalScrollBar().maximum())
    qtbot.wait(200)
    viewer.screenshot(IMAGES / "napari-stack-panels.png", canvas_only=False)
