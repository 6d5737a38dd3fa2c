"""The segment widget's field of view (zoomed into a large plane, only the part in view is encoded)
and its label-as-mask prompt ("Refine the selected label"), with the small random SAM v1 of
``test_napari_widget``; the rule that picks the region is checked on its own first."""

import numpy as np
import pytest
from qtpy.QtCore import Qt

from sam_stack._napari.field_of_view import region_to_encode, visible_extent
from sam_stack._napari.prompts import PlanePrompts
from sam_stack._napari.segment_widget import SamStackWidget
from sam_stack.tasks.display_normalisation import to_display_uint8
from test_napari_widget import (  # noqa: F401 (fixtures)
    WAIT_MS,
    assert_same_prediction,
    cells_image,
    checkpoint,
    choose_largest_candidate,
    encoding_of,
    load_model,
    open_widget,
    reference,
    wait_for_preview,
)

# --- the rule ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("plane_shape", "visible", "prompts", "expected"),
    [
        # 10% of the 200 x 100 view is added on each side
        ((2000, 3000), (1000, 500, 1200, 600), PlanePrompts(), (980, 490, 1220, 610)),
        # prompts outside the view are taken in, the box's far corner pixel included
        ((2000, 3000), (1000, 500, 1200, 600), PlanePrompts(box=np.array([900.0, 550, 1100.5, 700.2])), (870, 479, 1230, 722)),
        # clipped at the plane's edge
        ((2000, 3000), (0, 0, 100, 100), PlanePrompts(points_xy=np.array([[150.0, 40.0]])), (0, 0, 167, 110)),
        # a mask prompt's pixels are taken in too
        ((2000, 2000), (0, 0, 100, 100), PlanePrompts(mask=np.pad(np.ones((10, 10), bool), ((300, 1690), (400, 1590)))), (0, 0, 451, 341)),
        # more than half the plane's longer side: the whole plane
        ((2000, 3000), (0, 0, 1400, 100), PlanePrompts(), None),
        ((2000, 3000), (0, 0, 100, 100), PlanePrompts(points_xy=np.array([[2000.0, 10.0]])), None),
        # a plane the model sees whole at full resolution anyway
        ((1024, 800), (0, 0, 100, 100), PlanePrompts(), None),
        # a layer not drawn yet
        ((2000, 3000), None, PlanePrompts(), None),
    ],
)
def test_the_region_holds_the_view_and_the_prompts_or_is_the_whole_plane(plane_shape, visible, prompts, expected):
    assert region_to_encode(plane_shape, visible, prompts) == expected


def test_the_part_in_view_of_a_multiscale_layer_is_in_full_resolution_pixels():
    from napari.layers import Image

    full = np.zeros((2000, 3000), dtype=np.uint8)
    layer = Image([full, full[::2, ::2], full[::4, ::4]], multiscale=True)
    layer.data_level = 2
    layer.corner_pixels = np.array([[100, 200], [149, 299]])  # rows, cols of level 2, inclusive
    assert visible_extent(layer) == (800, 400, 1200, 600)
    layer.data_level = 0
    layer.corner_pixels = np.zeros((2, 2), dtype=int)  # as napari leaves it before the first draw
    assert visible_extent(layer) is None


# --- in the viewer -------------------------------------------------------------------------------


def spotted_image(shape=(2000, 2000)):
    """A large uint8 image with a few small bright spots near its top-left corner."""
    rng = np.random.default_rng(3)
    image = rng.normal(60, 8, shape)
    rows, cols = np.mgrid[:400, :400]
    for centre in ((300, 250), (280, 330), (350, 200)):
        image[:400, :400] += 150 * ((rows - centre[0]) ** 2 + (cols - centre[1]) ** 2 < 36)
    return np.clip(image, 0, 255).astype(np.uint8)


def test_zoomed_into_a_large_plane_the_part_in_view_is_encoded_and_the_mask_lands_in_place(
    make_napari_viewer, qtbot, checkpoint, reference
):
    image = spotted_image()
    viewer = make_napari_viewer(show=True)  # napari finds the part in view when it draws the canvas
    layer = viewer.add_image(image, name="image")
    widget = SamStackWidget(viewer)
    viewer.window.add_dock_widget(widget, name="SAM")
    load_model(qtbot, widget, checkpoint)
    qtbot.waitUntil(lambda: widget.points_combo.layer is not None, timeout=WAIT_MS)

    viewer.scene.camera.center = (300, 250)
    viewer.scene.camera.zoom *= 8
    qtbot.waitUntil(lambda: visible_extent(layer) is not None and visible_extent(layer)[2] < 800, timeout=WAIT_MS)
    in_view = visible_extent(layer)
    widget.points_combo.layer.add([[300, 250]])
    plane, prompts, prediction = wait_for_preview(qtbot, widget)

    x0, y0, x1, y1 = region = widget.preview_region
    assert x0 <= in_view[0] and y0 <= in_view[1] and x1 >= in_view[2] and y1 >= in_view[3]
    assert max(x1 - x0, y1 - y0) <= 1000
    pixels = to_display_uint8(image, layer.contrast_limits)
    encoding = encoding_of(widget, pixels, region)
    assert encoding is not None and encoding.region.bounds == region
    on_crop = reference.predict(reference.encode_image(pixels[y0:y1, x0:x1]), points=[[250 - x0, 300 - y0]])
    assert_same_prediction(prediction, on_crop)
    np.testing.assert_array_equal(prediction.masks[:, y0:y1, x0:x1], on_crop.masks)

    mask = choose_largest_candidate(widget)
    assert mask[y0:y1, x0:x1].any() and mask.sum() == mask[y0:y1, x0:x1].sum()
    qtbot.mouseClick(widget.commit_button, Qt.LeftButton)
    labels = widget.labels_combo.layer
    assert labels.data.shape == (2000, 2000)
    np.testing.assert_array_equal(labels.data == 1, mask)


def test_refining_the_selected_label_uses_its_mask_and_replaces_it(open_widget, qtbot, reference):
    image = cells_image()
    viewer, widget = open_widget(image)
    labels = viewer.add_labels(np.zeros((48, 64), dtype=np.uint32), name="objects")
    rows, cols = np.mgrid[:48, :64]
    labels.data[(rows - 17) ** 2 + (cols - 23) ** 2 < 100] = 3
    labels.data[40:, 58:] = 5
    widget.labels_combo.choose(labels)
    before = labels.data.copy()
    widget.points_combo.layer.add([[15, 20]])
    plain = wait_for_preview(qtbot, widget)[2]

    widget.refine_selected.setChecked(True)
    labels.selected_label = 3
    plane, prompts, refined = wait_for_preview(qtbot, widget)
    np.testing.assert_array_equal(prompts.mask, before == 3)
    encoding = encoding_of(widget, to_display_uint8(image, viewer.layers["image"].contrast_limits))
    expected = reference.predict(encoding, points=[[20, 15]], mask_logits=reference.logits_from_mask(encoding, before == 3))
    assert_same_prediction(refined, expected)
    assert not np.allclose(refined.logits, plain.logits, atol=1e-3)  # the mask prompt changed the preview

    mask = choose_largest_candidate(widget)
    widget.commit()
    np.testing.assert_array_equal(labels.data == 3, mask & ((before == 0) | (before == 3)))
    np.testing.assert_array_equal(labels.data == 5, before == 5)
    assert "refined" in widget.status.text()
