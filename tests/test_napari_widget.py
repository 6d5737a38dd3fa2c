"""The napari widget, driven as a user would: layers, points, boxes, buttons and keys.

The model is a small random-weight SAM v1 saved in the official format, loaded through the
widget's own Load button, so the real loading path runs. Its masks mean nothing, but its logits
depend on every input. Each preview is checked in two steps: the widget's cache must hold an
encoding of exactly the pixels it should have seen (the cache is keyed by a digest of them), and
the preview must equal a direct ``model.predict`` of that encoding with the prompts it should have
read. That shows that planes, contrast and coordinates were mapped correctly, without encoding
every image twice.
"""

import numpy as np
import pytest
from qtpy.QtCore import Qt

import sam_stack
from official_v1 import SMALL_VIT, build_official_sam, save_official_checkpoint
from sam_stack.tasks.embedding_cache_encode import cached_encode, encoder_input
from sam_stack._napari.segment_widget import SamStackWidget
from sam_stack.tasks.display_normalisation import channels_to_rgb, to_display_uint8

pytestmark = pytest.mark.gui

WAIT_MS = 30_000  # generous: encoding takes about a second, more on a loaded CI machine


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp("sam") / "sam_small.pth"
    # Seed 2: among the candidates of this random model, some masks are non-empty (to commit).
    save_official_checkpoint(build_official_sam(SMALL_VIT, seed=2), path)
    return path


@pytest.fixture(scope="module")
def reference(checkpoint):
    """The same weights, called directly: what each preview must equal."""
    return sam_stack.load_model(checkpoint, device="cpu")


@pytest.fixture
def open_widget(make_napari_viewer, qtbot, checkpoint):
    """open_widget(image=None, **image_layer_options) -> (viewer, widget), model loaded."""

    def open_(image=None, **options):
        viewer = make_napari_viewer()
        if image is not None:
            viewer.add_image(image, name="image", **options)
        widget = SamStackWidget(viewer)
        viewer.window.add_dock_widget(widget, name="SAM")
        load_model(qtbot, widget, checkpoint)
        if image is not None:
            qtbot.waitUntil(lambda: widget.points_combo.layer is not None, timeout=WAIT_MS)
        return viewer, widget

    return open_


def load_model(qtbot, widget, path) -> None:
    panel = widget.model_panel
    panel.path.setText(str(path))
    panel.device.setCurrentText("cpu")
    qtbot.mouseClick(panel.load, Qt.LeftButton)
    qtbot.waitUntil(lambda: panel.worker is None, timeout=WAIT_MS)


def wait_for_preview(qtbot, widget):
    qtbot.waitUntil(lambda: not widget.is_busy(), timeout=WAIT_MS)
    return widget.prediction


def encoding_of(widget, pixels, region=None):
    """The widget's encoding of ``pixels`` (or their ``region``); fails if it never encoded
    exactly these pixels."""
    assert encoder_input(widget.model, pixels, region).key in widget.embedding_cache, "the widget did not encode the expected pixels"
    return cached_encode(widget.model, pixels, widget.embedding_cache, region)


def assert_same_prediction(found, expected):
    np.testing.assert_allclose(found.logits, expected.logits, atol=1e-4)
    np.testing.assert_allclose(found.scores, expected.scores, atol=1e-5)


def choose_largest_candidate(widget) -> np.ndarray:
    """Clicks the candidate with the most pixels (the random model's best-scored one may be empty)."""
    masks = widget.prediction[2].masks
    largest = int(np.argmax(masks.sum(axis=(1, 2))))
    widget.candidates._group.button(largest).click()
    return masks[largest]


def cells_image(seed=0, shape=(48, 64)):
    """A small uint16 image: two bright discs on a noisy background."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[: shape[0], : shape[1]]
    image = 100 + rng.normal(0, 10, shape)
    for centre in ((15, 20), (32, 45)):
        image += 1000 * ((rows - centre[0]) ** 2 + (cols - centre[1]) ** 2 < 64)
    return image.astype(np.uint16)


# --- interactive segmentation ------------------------------------------------------------------


def test_points_make_the_preview_and_contrast_changes_what_the_model_sees(open_widget, qtbot, reference):
    image = cells_image()
    viewer, widget = open_widget(image, contrast_limits=(100, 1100))
    points = widget.points_combo.layer
    assert viewer.layers.selection.active is points and points.mode == "add"  # ready to click

    points.add([[15, 20]])
    plane, prompts, prediction = wait_for_preview(qtbot, widget)
    pixels = to_display_uint8(image, (100, 1100))
    encoding = encoding_of(widget, pixels)
    np.testing.assert_array_equal(prompts.points_xy, [[20, 15]])
    assert_same_prediction(prediction, reference.predict(encoding, points=[[20, 15]], point_labels=[1]))
    np.testing.assert_array_equal(widget.preview_layer.data.astype(bool), prediction.masks[widget.candidates.current])
    assert len(widget.candidates._group.buttons()) == 3

    widget.toggle_polarity()  # the next point is negative, and shown in another colour
    points.add([[32, 45]])
    second = wait_for_preview(qtbot, widget)[2]
    assert points.features["prompt"].tolist() == ["positive", "negative"]
    assert not np.allclose(points.face_color[0], points.face_color[1])
    assert_same_prediction(second, reference.predict(encoding, points=[[20, 15], [45, 32]], point_labels=[1, 0]))
    assert len(widget.embedding_cache) == 1  # the plane was encoded once for both previews

    viewer.layers["image"].contrast_limits = (0, 3000)
    third = wait_for_preview(qtbot, widget)[2]
    brighter = encoding_of(widget, to_display_uint8(image, (0, 3000)))
    assert_same_prediction(third, reference.predict(brighter, points=[[20, 15], [45, 32]], point_labels=[1, 0]))
    assert len(widget.embedding_cache) == 2


def test_commit_adds_a_new_object_without_touching_others_and_undo_removes_it(open_widget, qtbot):
    viewer, widget = open_widget(cells_image())
    labels = viewer.add_labels(np.zeros((48, 64), dtype=np.uint32), name="objects")
    labels.data[:5, :5] = 1  # an object that is already there
    widget.labels_combo.choose(labels)
    before = labels.data.copy()

    widget.points_combo.layer.add([[15, 20]])
    wait_for_preview(qtbot, widget)
    mask = choose_largest_candidate(widget)
    assert mask[:5, :5].any()  # the mask covers the existing object, which must keep its label
    qtbot.mouseClick(widget.commit_button, Qt.LeftButton)

    np.testing.assert_array_equal(labels.data[:5, :5], 1)
    np.testing.assert_array_equal(labels.data == 2, mask & (before == 0))
    assert len(widget.points_combo.layer.data) == 0  # the prompts became the object
    assert "Object 2" in widget.status.text()

    viewer.layers.selection.active = labels
    qtbot.keyClick(viewer.window._qt_viewer.canvas.native, Qt.Key_Z, Qt.ControlModifier)  # napari's undo
    np.testing.assert_array_equal(labels.data, before)


def test_overwrite_and_adding_to_the_selected_label(open_widget, qtbot):
    viewer, widget = open_widget(cells_image())
    labels = viewer.add_labels(np.zeros((48, 64), dtype=np.uint32), name="objects")
    labels.data[:5, :5] = 1
    labels.data[40:, 60:] = 7
    widget.labels_combo.choose(labels)
    points = widget.points_combo.layer

    widget.overwrite.setChecked(True)
    points.add([[15, 20]])
    wait_for_preview(qtbot, widget)
    mask = choose_largest_candidate(widget)
    widget.commit()
    np.testing.assert_array_equal(labels.data == 8, mask)

    labels.undo()
    before = labels.data.copy()
    widget.overwrite.setChecked(False)
    widget.into_selected.setChecked(True)
    labels.selected_label = 7
    points.add([[15, 20]])
    wait_for_preview(qtbot, widget)
    mask = choose_largest_candidate(widget)
    widget.commit()
    np.testing.assert_array_equal(labels.data == 7, (before == 7) | (mask & (before == 0)))
    np.testing.assert_array_equal(labels.data[:5, :5], 1)


def test_a_rectangle_of_the_shapes_layer_is_the_box(open_widget, qtbot, reference):
    image = cells_image()
    viewer, widget = open_widget(image)
    boxes = widget.boxes_combo.layer
    boxes.add_ellipses([[[5, 5], [10, 10]]])  # not a rectangle: ignored
    boxes.add_rectangles([[[2, 3], [20, 30]]])
    boxes.add_rectangles([[[10, 12], [40, 60]]])  # the newest rectangle is the box
    plane, prompts, prediction = wait_for_preview(qtbot, widget)

    np.testing.assert_allclose(prompts.box, [12, 10, 60, 40])
    assert prompts.points_xy is None
    pixels = to_display_uint8(image, viewer.layers["image"].contrast_limits)
    assert_same_prediction(prediction, reference.predict(encoding_of(widget, pixels), box=[12, 10, 60, 40]))

    widget.clear_prompts()  # every rectangle of the plane goes; the ellipse stays
    assert boxes.shape_type == ["ellipse"]


@pytest.mark.parametrize(
    ("shape", "step"),
    [((3, 40, 48), (1,)), ((2, 3, 40, 48), (1, 2))],
    ids=["3-D", "4-D"],
)
def test_stacks_segment_the_plane_shown_and_commit_into_it(open_widget, qtbot, reference, shape, step):
    image = np.random.default_rng(1).normal(size=shape).astype(np.float32)
    viewer, widget = open_widget(image)
    viewer.dims.current_step = step + (0, 0)
    points = widget.points_combo.layer
    points.add([list(step) + [10, 12], [0] * (len(shape) - 2) + [5, 5]])  # the second is on another plane
    plane, prompts, prediction = wait_for_preview(qtbot, widget)

    assert plane.index == step
    np.testing.assert_array_equal(prompts.points_xy, [[12, 10]])
    pixels = to_display_uint8(image[step], viewer.layers["image"].contrast_limits)
    assert_same_prediction(prediction, reference.predict(encoding_of(widget, pixels), points=[[12, 10]]))

    mask = choose_largest_candidate(widget)
    widget.commit()
    labels = widget.labels_combo.layer
    assert labels.data.shape == shape
    np.testing.assert_array_equal(labels.data[step] == 1, mask)
    assert np.count_nonzero(labels.data) == np.count_nonzero(mask)  # no other plane was touched
    assert len(points.data) == 1  # the prompt on the other plane stays


def test_rgb_images_are_segmented_in_colour(open_widget, qtbot, reference):
    image = np.random.default_rng(2).integers(0, 256, (40, 48, 3), dtype=np.uint8)
    viewer, widget = open_widget(image)
    assert viewer.layers["image"].rgb
    widget.points_combo.layer.add([[20, 24]])
    plane, prompts, prediction = wait_for_preview(qtbot, widget)
    assert plane.object_shape == (40, 48)
    assert_same_prediction(prediction, reference.predict(encoding_of(widget, image), points=[[24, 20]]))


def test_a_channel_axis_becomes_the_colours_the_model_sees(open_widget, qtbot, reference):
    image = np.random.default_rng(3).integers(0, 4000, (2, 40, 48), dtype=np.uint16)
    viewer, widget = open_widget(image, contrast_limits=(0, 4000))
    widget.channels_first.setChecked(True)
    # The prompt layers were made for a (C, Y, X) image before the box was ticked; points
    # keep their channel coordinate, which does not matter.
    widget.points_combo.layer.add([[1, 20, 24]])
    plane, prompts, prediction = wait_for_preview(qtbot, widget)
    pixels = channels_to_rgb(to_display_uint8(image, (0, 4000)))
    assert pixels.shape == (40, 48, 3)
    assert_same_prediction(prediction, reference.predict(encoding_of(widget, pixels), points=[[24, 20]]))
    choose_largest_candidate(widget)
    widget.commit()
    assert widget.labels_combo.layer.data.shape == (40, 48)


def test_scaled_and_translated_layers_map_points_through_the_world(open_widget, qtbot, reference):
    image = cells_image()
    viewer, widget = open_widget(image, scale=(2.0, 0.5), translate=(10.0, -4.0))
    # A Points layer of the user's, in world units (scale 1): world (40, 6) is image pixel
    # row (40 - 10) / 2 = 15, column (6 + 4) / 0.5 = 20.
    points = viewer.add_points([[40.0, 6.0]], name="my points")
    widget.points_combo.choose(points)
    plane, prompts, prediction = wait_for_preview(qtbot, widget)

    np.testing.assert_allclose(prompts.points_xy, [[20, 15]])
    pixels = to_display_uint8(image, viewer.layers["image"].contrast_limits)
    assert_same_prediction(prediction, reference.predict(encoding_of(widget, pixels), points=[[20, 15]]))
    np.testing.assert_allclose(widget.preview_layer.scale, (2.0, 0.5))
    np.testing.assert_allclose(widget.preview_layer.translate, (10.0, -4.0))

    choose_largest_candidate(widget)
    widget.commit()
    np.testing.assert_allclose(widget.labels_combo.layer.scale, (2.0, 0.5))


def test_keyboard_shortcuts(open_widget, qtbot):
    viewer, widget = open_widget(cells_image())
    canvas = viewer.window._qt_viewer.canvas.native
    points = widget.points_combo.layer

    qtbot.keyClick(canvas, Qt.Key_T, Qt.ShiftModifier)
    assert widget.polarity.isChecked() and "negative" in widget.polarity.text()
    qtbot.keyClick(canvas, Qt.Key_T, Qt.ShiftModifier)
    assert not widget.polarity.isChecked()

    points.add([[15, 20]])
    wait_for_preview(qtbot, widget)
    first = widget.candidates.current
    qtbot.keyClick(canvas, Qt.Key_N, Qt.ShiftModifier)
    assert widget.candidates.current == (first + 1) % 3

    qtbot.keyClick(canvas, Qt.Key_X, Qt.ShiftModifier)
    assert len(points.data) == 0

    points.add([[15, 20]])
    wait_for_preview(qtbot, widget)
    choose_largest_candidate(widget)
    qtbot.keyClick(canvas, Qt.Key_C, Qt.ShiftModifier)
    assert widget.labels_combo.layer.data.max() == 1


# --- what goes wrong -----------------------------------------------------------------------------


def test_without_an_image_layer_every_action_says_so_and_changes_nothing(open_widget, qtbot):
    viewer, widget = open_widget()
    widget.update_preview()
    assert "no image layer" in widget.status.text()
    widget.commit()
    assert widget.status.kind == "error"
    widget.everything.start()
    assert widget.everything.status.kind == "error"
    widget.propagation.start()
    assert widget.propagation.status.kind == "error"
    assert len(viewer.layers) == 0


def test_the_planes_next_to_the_previewed_one_are_encoded_ahead(open_widget, qtbot, reference):
    stack = np.stack([cells_image(seed) for seed in range(4)])
    viewer, widget = open_widget(stack)
    viewer.dims.set_current_step(0, 1)
    widget.points_combo.layer.add([[1, 15, 20]])
    wait_for_preview(qtbot, widget)  # busy until the planes ahead are encoded too
    cache = widget.embedding_cache
    planes = [to_display_uint8(plane, viewer.layers["image"].contrast_limits) for plane in stack]
    assert [encoder_input(widget.model, plane).key in cache for plane in planes] == [True, True, True, False]

    misses = cache.stats.misses
    viewer.dims.set_current_step(0, 2)
    widget.points_combo.layer.add([[2, 15, 20]])
    prediction = wait_for_preview(qtbot, widget)[2]
    assert cache.stats.misses == misses  # plane 2's preview found its encoding ready
    # Encoded ahead as a click would encode it: the same numbers as encoding the plane alone.
    expected = reference.predict(reference.encode_image(planes[2]), points=[[20, 15]])
    np.testing.assert_array_equal(prediction.logits, expected.logits)
    np.testing.assert_array_equal(prediction.scores, expected.scores)
    assert encoder_input(widget.model, planes[3]).key in cache  # and now the plane after it

    widget.pre_encode.setChecked(False)
    viewer.dims.set_current_step(0, 0)
    widget.points_combo.layer.add([[0, 15, 20]])
    wait_for_preview(qtbot, widget)
    assert len(cache) == 4


def test_a_cache_folder_keeps_the_encodings_for_the_next_session(open_widget, qtbot, tmp_path):
    folder = tmp_path / "encodings"
    for session in ("first", "second"):
        viewer, widget = open_widget(cells_image())
        panel = widget.model_panel
        qtbot.keyClicks(panel.cache_folder, str(folder))
        qtbot.keyClick(panel.cache_folder, Qt.Key_Return)
        assert f"in memory and in {folder}" in panel.status.text()
        widget.points_combo.layer.add([[15, 20]])
        wait_for_preview(qtbot, widget)
        assert widget.prediction is not None
        stats = widget.embedding_cache.stats
        assert (stats.disk_hits, stats.misses) == ((0, 1) if session == "first" else (1, 0))
        kept = widget.embedding_cache
        qtbot.keyClick(panel.cache_folder, Qt.Key_Return)  # the same folder again: nothing changes
        assert widget.embedding_cache is kept
    assert len(list(folder.glob("*/*.zarr"))) == 1


def test_a_cache_folder_that_cannot_be_made_is_reported_and_nothing_changes(open_widget, qtbot, tmp_path):
    (tmp_path / "a file").write_text("not a folder")
    viewer, widget = open_widget()
    before = widget.embedding_cache
    panel = widget.model_panel
    qtbot.keyClicks(panel.cache_folder, str(tmp_path / "a file"))
    qtbot.keyClick(panel.cache_folder, Qt.Key_Return)
    assert panel.status.kind == "error" and "expected a folder" in panel.status.text()
    assert widget.embedding_cache is before


def test_bfloat16_is_offered_for_sam_2_only(open_widget):
    viewer, widget = open_widget()
    assert widget.model.version == "v1"
    assert not widget.model_panel.bfloat16.isEnabled() and not widget.model_panel.bfloat16.isChecked()
    assert "bfloat16" not in widget.model_panel.status.text()


def test_a_3d_view_asks_for_a_2d_one(open_widget, qtbot):
    viewer, widget = open_widget(np.zeros((3, 32, 32), dtype=np.uint8))
    viewer.dims.ndisplay = 3
    widget.points_combo.layer.add([[1, 10, 10]])
    wait_for_preview(qtbot, widget)
    assert "switch it to 2-D" in widget.status.text()
    assert widget.prediction is None and len(widget.embedding_cache) == 0


def test_labels_of_another_shape_are_refused(open_widget, qtbot):
    viewer, widget = open_widget(cells_image())
    labels = viewer.add_labels(np.zeros((10, 10), dtype=np.uint32), name="small")
    widget.labels_combo.choose(labels)
    widget.points_combo.layer.add([[15, 20]])
    wait_for_preview(qtbot, widget)
    choose_largest_candidate(widget)
    layer_count = len(viewer.layers)

    widget.commit()
    assert widget.status.kind == "error" and "shape" in widget.status.text()
    assert not labels.data.any() and len(viewer.layers) == layer_count
    assert len(widget.points_combo.layer.data) == 1


def test_a_v1_model_asked_to_propagate_says_it_needs_v2(open_widget, qtbot):
    viewer, widget = open_widget(np.zeros((3, 32, 32), dtype=np.uint8))
    widget.points_combo.layer.add([[0, 10, 10]])
    wait_for_preview(qtbot, widget)
    widget.propagation.start()
    assert widget.propagation.status.kind == "error"
    assert "SAM v2" in widget.propagation.status.text()
    assert widget.labels_combo.layer is None  # not even an output layer was made


def test_a_wrong_file_leaves_the_previous_model_in_use(open_widget, qtbot, tmp_path):
    viewer, widget = open_widget(cells_image())
    model = widget.model
    not_a_model = tmp_path / "notes.pth"
    not_a_model.write_text("not a checkpoint")
    load_model(qtbot, widget, not_a_model)

    status = widget.model_panel.status
    assert status.kind == "error"
    assert "notes.pth" in status.text() and "Still using SAM v1" in status.text()
    assert widget.model is model
    widget.points_combo.layer.add([[15, 20]])
    assert wait_for_preview(qtbot, widget) is not None
