"""Screenshots of napari with the plugin docked, for the README: ``docs/images/``.

They are made on the sample time-lapse with the small random-weight model of the tests (no real
weights can be downloaded where the tests run), so the masks they show are not meaningful: the
pictures show the widget, its layers and the flow. Look at them after a change of the widget.
"""

from pathlib import Path

import pytest
from napari.settings import get_settings

from official_v1 import SMALL_VIT, build_official_sam, save_official_checkpoint

IMAGES = Path(__file__).resolve().parents[1] / "docs" / "images"
WAIT_MS = 30_000


@pytest.mark.gui
def test_screenshots_of_napari_with_the_widget(make_napari_viewer, qtbot, tmp_path, monkeypatch):
    monkeypatch.setattr(get_settings().application, "gui_notification_level", "none")  # no pop-ups in the pictures
    checkpoint = tmp_path / "sam_small.pth"
    save_official_checkpoint(build_official_sam(SMALL_VIT, seed=2), checkpoint)

    viewer = make_napari_viewer(show=True)
    viewer.window._qt_window.resize(1440, 900)
    viewer.open_sample("napari-sam-stack", "moving-cells")
    _, widget = viewer.window.add_plugin_dock_widget("napari-sam-stack", "Segment Anything")
    widget.model_panel.path.setText(str(checkpoint))
    widget.model_panel.device.setCurrentText("cpu")
    widget.model_panel.start_loading()
    qtbot.waitUntil(lambda: widget.model is not None and widget.points_combo.layer is not None, timeout=WAIT_MS)
    viewer.dims.current_step = (3, 0, 0)

    points = widget.points_combo.layer
    points.add([[3, 64, 64]])
    qtbot.waitUntil(lambda: not widget.is_busy(), timeout=WAIT_MS)
    masks = widget.prediction[2].masks
    widget.candidates._group.button(int(masks.sum(axis=(1, 2)).argmax())).click()  # one that is not empty
    widget.commit()
    points.add([[3, 98, 40]])
    widget.toggle_polarity()
    points.add([[3, 30, 100]])
    widget.toggle_polarity()
    widget.boxes_combo.layer.add_rectangles([[[3, 80, 20], [3, 80, 62], [3, 118, 62], [3, 118, 20]]])
    qtbot.waitUntil(lambda: not widget.is_busy(), timeout=WAIT_MS)
    qtbot.wait(200)  # let the canvas draw

    IMAGES.mkdir(parents=True, exist_ok=True)
    viewer.screenshot(IMAGES / "napari-segment-anything.png", canvas_only=False)
    scroll = widget.findChild(type(widget.layout().itemAt(0).widget()))
    scroll.verticalScrollBar().setValue(scroll.verticalScrollBar().maximum())
    qtbot.wait(200)
    viewer.screenshot(IMAGES / "napari-stack-panels.png", canvas_only=False)
    assert (IMAGES / "napari-segment-anything.png").stat().st_size > 0
