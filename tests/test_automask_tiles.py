"""``generate_labels_tiled``: tiles, the merge across seams, bounded reads, bad parameters.

Exactness is checked with a stand-in for ``iter_masks`` that returns the true discs of each tile
(its connected components), so that any split, duplicate or lost object is the merge's fault.
"""

import cv2
import numpy as np
import pytest
import zarr
from official_v1 import SMALL_VIT, build_official_sam, save_official_checkpoint

import sam_stack
from automask_inputs import (
    discs_image,
    random_discs,
    record_of_mask,
    separate_discs,
    true_discs_of_tile,
    v1_weights_that_show_the_image,
)
from sam_stack.errors import ImageError, SamStackError
from sam_stack.tasks.automask import generate_labels_tiled, masks_to_labels
from sam_stack.tasks.automask.seams import SeamMerger
from sam_stack.tasks.automask.tile_grid import tile_grid


def discs_of_tile_drawn_badly_where_cut(model, rgb_hw3, **parameters):
    """Stand-in for ``iter_masks`` whose masks of regions touching the tile's edge are one pixel
    too large, as a model may draw an object it sees only part of."""
    for item in true_discs_of_tile(model, rgb_hw3):
        mask_hw = item["segmentation"]
        if mask_hw[[0, -1]].any() or mask_hw[:, [0, -1]].any():
            mask_hw = cv2.dilate(mask_hw.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
        yield record_of_mask(mask_hw)


def assert_one_label_per_disc(labels_hw: np.ndarray, truth_hw: np.ndarray) -> None:
    assert labels_hw.dtype == np.uint32
    np.testing.assert_array_equal(labels_hw > 0, truth_hw > 0)
    pairs = {(int(a), int(b)) for a, b in zip(truth_hw[truth_hw > 0], labels_hw[truth_hw > 0])}
    discs = [disc for disc, _ in pairs]
    labels = [label for _, label in pairs]
    assert len(set(discs)) == len(discs), "a disc got several labels (split at a seam)"
    assert len(set(labels)) == len(labels), "one label covers several discs"
    assert len(discs) == truth_hw.max(), "a disc was lost"


@pytest.fixture
def stand_in(monkeypatch):
    monkeypatch.setattr("sam_stack.tasks.automask.tiled.iter_masks", true_discs_of_tile)


def test_tiles_cover_the_image_with_the_overlap_asked_for():
    tiles = tile_grid((300, 700), tile_size=256, overlap=100)
    lefts = sorted({tile.left for tile in tiles})
    assert lefts == [0, 156, 312, 444] and {tile.top for tile in tiles} == {0, 44}
    assert all(tile.hw == (256, 256) for tile in tiles)
    covered = np.zeros((300, 700), bool)
    for tile in tiles:
        # What a tile calls covered is exactly what earlier tiles covered.
        np.testing.assert_array_equal(tile.covered_hw(), covered[tile.slices])
        covered[tile.slices] = True
    assert covered.all()
    assert tile_grid((50, 60), tile_size=256, overlap=100)[0].hw == (50, 60)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_discs_across_seams_get_one_label_each(stand_in, seed):
    # Two discs larger than a tile, which no tile sees whole, and small ones (up to 81 pixels
    # across: each lies inside some tile, 20 pixels away from its inner edges).
    truth = separate_discs(600, 800, [150, 140] + [40] * 6 + [25] * 12 + [10] * 20, seed)
    image = discs_image(truth)
    labels = generate_labels_tiled(None, image, tile_size=256, overlap=128)
    assert_one_label_per_disc(labels, truth)


@pytest.mark.parametrize("seed", [0, 1])
def test_discs_across_seams_come_whole_from_the_tile_they_lie_inside(monkeypatch, seed):
    monkeypatch.setattr("sam_stack.tasks.automask.tiled.iter_masks", discs_of_tile_drawn_badly_where_cut)
    truth = separate_discs(600, 800, [40] * 8 + [25] * 15 + [10] * 25, seed, inside=True)
    image = discs_image(truth)
    labels = generate_labels_tiled(None, image, tile_size=256, overlap=128)
    assert_one_label_per_disc(labels, truth)


def test_tiles_are_read_one_at_a_time_into_an_out_array(stand_in):
    truth = separate_discs(300, 500, [25] * 8 + [12] * 10, seed=3)
    pixels = (truth > 0).astype(np.uint16) * 5000 + 7

    class Image:
        shape, dtype = pixels.shape, pixels.dtype

        def __getitem__(self, index):
            read = pixels[index]
            assert read.shape[0] <= 160 and read.shape[1] <= 160
            return read

    out = zarr.zeros(shape=pixels.shape, chunks=(100, 100), dtype="uint32")
    out[:] = 9  # cleared before use
    result = generate_labels_tiled(None, Image(), tile_size=160, overlap=100, out=out)
    assert result is out
    assert_one_label_per_disc(out[:], truth)


def test_values_are_stretched_by_the_whole_image_range(monkeypatch):
    pixels = np.tile(np.arange(30, dtype=np.uint16) * 100, (10, 1))  # 0 .. 2900 across
    seen = []

    def capture(model, rgb_hw3, **parameters):
        seen.append(rgb_hw3[0, :, 0].copy())
        return iter([])

    monkeypatch.setattr("sam_stack.tasks.automask.tiled.iter_masks", capture)
    labels = generate_labels_tiled(None, pixels, tile_size=12, overlap=4)
    assert not labels.any()
    expected = np.round(np.arange(30) * 100 * 255 / 2900).astype(np.uint8)
    np.testing.assert_array_equal(np.concatenate([seen[0], seen[-1]]), np.concatenate([expected[:12], expected[-12:]]))


def test_a_cut_label_is_replaced_by_the_whole_mask_and_whole_labels_stay():
    labels = np.zeros((10, 20), np.uint32)
    merger = SeamMerger(labels)
    left, right = tile_grid((10, 20), tile_size=12, overlap=4)
    # Left tile: a cut object (reaching its inner edge) and a whole one in the band.
    first = np.zeros((10, 12), np.int64)
    first[0:4, 6:12] = 1
    first[6:9, 8:11] = 2
    merger.add_tile(left, first, np.array([True, False]), np.array([[6, 0, 11, 3], [8, 6, 10, 8]]))
    # Right tile: the first object whole, the second one cut at the edge of the tile.
    second = np.zeros((10, 12), np.int64)
    second[0:4, 0:8] = 1
    second[6:9, 0:3] = 2
    merger.add_tile(right, second, np.array([False, True]), np.array([[0, 0, 7, 3], [0, 6, 2, 8]]))
    expected = np.zeros((10, 20), np.uint32)
    expected[0:4, 8:16] = 1  # replaced, under its old number: its old pixels outside are gone
    expected[6:9, 8:11] = 2  # the whole one stays as it was
    np.testing.assert_array_equal(labels, expected)


def test_one_tile_is_the_untiled_label_image(v1_model, monkeypatch):
    from sam_stack.tasks.automask import tiled

    records = []

    def keeping(model, rgb_hw3, **parameters):
        for item in tiled_iter_masks(model, rgb_hw3, **parameters):
            records.append(item)
            yield item

    tiled_iter_masks = tiled.iter_masks
    monkeypatch.setattr(tiled, "iter_masks", keeping)
    image = random_discs(60, 80, seed=1)
    labels = generate_labels_tiled(v1_model, image, points_per_side=2, pred_iou_thresh=0.0, stability_score_thresh=0.0)
    assert records
    np.testing.assert_array_equal(labels, masks_to_labels(records, image_hw=(60, 80)))


@pytest.fixture(scope="module")
def v1_model(tmp_path_factory):
    official = build_official_sam(SMALL_VIT, seed=0)
    v1_weights_that_show_the_image(official)
    path = tmp_path_factory.mktemp("tiles") / "tiny.pth"
    save_official_checkpoint(official, path)
    return sam_stack.load_model(path, device="cpu")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (dict(tile_size=256, overlap=256), "expected 0 <= overlap < tile_size"),
        (dict(tile_size=256, overlap=-1), "expected 0 <= overlap < tile_size"),
        (dict(tile_size=256.5, overlap=10), "whole numbers"),
        (dict(merge_threshold=0.3), "expected 0.5 <= merge_threshold < 1"),
        (dict(out=np.zeros((5, 5), np.uint32)), r"expected the image's \(40, 50\)"),
    ],
)
def test_bad_parameters_say_what_was_expected(arguments, message):
    with pytest.raises(SamStackError, match=message):
        generate_labels_tiled(None, np.zeros((40, 50), np.uint8), **arguments)


def test_an_image_of_four_channels_is_refused():
    with pytest.raises(ImageError, match=r"shape \(40, 50, 4\)"):
        generate_labels_tiled(None, np.zeros((40, 50, 4), np.uint8))
