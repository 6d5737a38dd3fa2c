"""The plugin's parts that need no display: what the model is shown, the encoding cache, and
how objects are painted into a plane of labels."""

import numpy as np
import pytest

from sam_stack._napari.labels_writing import paint_mask, paint_new_objects, paint_tracked_objects
from sam_stack.errors import ImageError
from sam_stack.tasks.display_normalisation import channels_to_rgb, to_display_uint8


# --- display normalisation ----------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int32, np.float32, np.float64])
def test_contrast_limits_map_linearly_to_the_full_byte_range(dtype):
    values = np.array([[0, 100, 150, 200, 250]], dtype=dtype)
    np.testing.assert_array_equal(to_display_uint8(values, (100, 200)), [[0, 0, 128, 255, 255]])


def test_gamma_bends_the_mapping_as_a_viewer_does():
    values = np.array([0.0, 0.25, 1.0])
    np.testing.assert_array_equal(to_display_uint8(values, (0, 1), gamma=0.5), [0, 128, 255])


def test_bool_nan_and_equal_limits():
    np.testing.assert_array_equal(to_display_uint8(np.array([False, True]), (0, 1)), [0, 255])
    np.testing.assert_array_equal(to_display_uint8(np.array([np.nan, 1.0]), (0, 1)), [0, 255])
    np.testing.assert_array_equal(to_display_uint8(np.array([4, 5, 6]), (5, 5)), [0, 0, 255])


def test_channels_become_rgb():
    one = np.full((1, 2, 3), 7, dtype=np.uint8)
    assert channels_to_rgb(one).shape == (2, 3)
    two = np.stack([np.full((2, 3), 10), np.full((2, 3), 20)]).astype(np.uint8)
    np.testing.assert_array_equal(channels_to_rgb(two)[0, 0], [10, 20, 0])
    five = np.arange(5, dtype=np.uint8)[:, None, None] * np.ones((1, 2, 3), dtype=np.uint8)
    np.testing.assert_array_equal(channels_to_rgb(five)[1, 2], [0, 1, 2])
    with pytest.raises(ImageError, match=r"\(C, H, W\)"):
        channels_to_rgb(np.zeros((4, 4), dtype=np.uint8))


# --- painting objects -------------------------------------------------------------------------------------


def test_a_mask_goes_only_where_no_other_object_is_unless_overwriting():
    plane = np.array([[0, 0, 2, 5]], dtype=np.uint32)
    mask = np.array([[True, False, True, True]])
    np.testing.assert_array_equal(paint_mask(plane, mask, 5, overwrite=False), [[5, 0, 2, 5]])
    np.testing.assert_array_equal(paint_mask(plane, mask, 5, overwrite=True), [[5, 0, 5, 5]])
    np.testing.assert_array_equal(plane, [[0, 0, 2, 5]])  # the input is not changed


def test_new_objects_get_labels_after_the_given_one():
    plane = np.array([[0, 0, 1, 0]], dtype=np.uint32)
    objects = np.array([[2, 2, 7, 7]], dtype=np.uint32)
    painted, next_label = paint_new_objects(plane, objects, first_label=10, overwrite=False)
    np.testing.assert_array_equal(painted, [[10, 10, 1, 11]])
    assert next_label == 12


def test_a_tracked_object_replaces_its_old_pixels():
    plane = np.array([[3, 3, 0, 4]], dtype=np.uint32)
    painted = paint_tracked_objects(plane, {3: np.array([[False, True, True, True]])}, overwrite=False)
    np.testing.assert_array_equal(painted, [[0, 3, 3, 4]])
