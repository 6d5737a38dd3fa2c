"""`sam-stack automask` on a small random-weight model: files written, bad images skipped."""

import cv2
import numpy as np
import pytest
import tifffile
from automask_inputs import discs_image, random_discs, separate_discs, true_discs_of_tile, v1_weights_that_show_the_image
from official_v1 import SMALL_VIT, build_official_sam, save_official_checkpoint

import sam_stack
from sam_stack.cli import main
from sam_stack.io import read_image

# Few points and no score filters: a few masks per image, quickly.
FAST = ["--points-per-side", "2", "--pred-iou-thresh", "0", "--stability-score-thresh", "0"]
FAST_PARAMETERS = dict(points_per_side=2, pred_iou_thresh=0.0, stability_score_thresh=0.0)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    official = build_official_sam(SMALL_VIT, seed=0)
    v1_weights_that_show_the_image(official)
    path = tmp_path_factory.mktemp("automask_cli") / "tiny.pth"
    save_official_checkpoint(official, path)
    return path


def write_png(path, rgb):
    cv2.imwrite(str(path), rgb[..., ::-1])


def test_help(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["automask", "--help"])
    assert exited.value.code == 0
    assert "NAME_labels.tif" in capsys.readouterr().out


def test_a_folder_gives_labels_overlays_and_cutouts(checkpoint, tmp_path, capsys):
    images = tmp_path / "photos"
    images.mkdir()
    first, second = random_discs(60, 80, seed=1), random_discs(60, 80, seed=2)
    write_png(images / "a.png", first)
    write_png(images / "b.png", second)
    (images / "notes.txt").write_text("not an image")
    out = tmp_path / "out"

    assert main(["automask", str(images), "--model", str(checkpoint), "--out", str(out), "--cutouts", *FAST]) == 0

    model = sam_stack.load_model(checkpoint, device="cpu")
    for name, image in (("a", first), ("b", second)):
        records = sam_stack.generate_masks(model, image, **FAST_PARAMETERS)
        labels = read_image(out / f"{name}_labels.tif")
        assert labels.dtype == np.uint32
        np.testing.assert_array_equal(labels, sam_stack.masks_to_labels(records, image_hw=(60, 80)))
        overlay = read_image(out / f"{name}_overlay.png")
        assert overlay.shape == (60, 80, 3) and overlay.dtype == np.uint8
        assert (overlay[labels == 0] == image[labels == 0]).all()  # background pixels untouched
        cutouts = sorted((out / f"{name}_segments").iterdir())
        assert [path.name for path in cutouts] == sorted(f"{i}.png" for i in range(1, len(records) + 1))
        first_cutout = read_image(out / f"{name}_segments" / "1.png")
        x, y, w, h = records[0]["bbox"]
        assert first_cutout.shape == (h + 1, w + 1, 4)
        np.testing.assert_array_equal(first_cutout[..., 3] > 0, records[0]["segmentation"][y : y + h + 1, x : x + w + 1])
    assert "a.png" in capsys.readouterr().out


def test_an_unreadable_image_is_reported_and_skipped(checkpoint, tmp_path, capsys):
    (tmp_path / "broken.png").write_bytes(b"\x89PNG not really")
    write_png(tmp_path / "good.png", random_discs(60, 80, seed=1))
    out = tmp_path / "out"
    status = main(["automask", str(tmp_path / "broken.png"), str(tmp_path / "good.png"), "--model", str(checkpoint), "--out", str(out), *FAST])
    assert status == 1
    err = capsys.readouterr().err
    assert "skipped" in err and "broken.png" in err and "1 of 2 image(s) failed" in err
    assert (out / "good_labels.tif").exists() and not (out / "broken_labels.tif").exists()


def test_a_tiff_stack_gives_one_label_stack(checkpoint, tmp_path):
    frames = np.stack([random_discs(60, 80, seed=1), random_discs(60, 80, seed=2)])[..., 0]
    tifffile.imwrite(tmp_path / "stack.tif", frames)
    out = tmp_path / "out"
    assert main(["automask", str(tmp_path / "stack.tif"), "--model", str(checkpoint), "--out", str(out), *FAST]) == 0
    labels = read_image(out / "stack_labels.tif")
    assert labels.shape == (2, 60, 80) and labels.dtype == np.uint32
    model = sam_stack.load_model(checkpoint, device="cpu")
    np.testing.assert_array_equal(labels, sam_stack.generate_labels_stack(model, frames, **FAST_PARAMETERS))


def test_the_same_name_in_two_folders_gets_two_results(checkpoint, tmp_path):
    for folder in ("x", "y"):
        (tmp_path / folder).mkdir()
        write_png(tmp_path / folder / "photo.png", random_discs(60, 80, seed=3))
    out = tmp_path / "out"
    assert main(["automask", str(tmp_path / "x"), str(tmp_path / "y"), "--model", str(checkpoint), "--out", str(out), *FAST]) == 0
    assert (out / "photo_labels.tif").exists() and (out / "photo_2_labels.tif").exists()


@pytest.fixture
def discs_model(monkeypatch):
    """The tiled generator's tiles segmented by their true discs, instantly."""
    monkeypatch.setattr("sam_stack.tasks.automask.tiled.iter_masks", true_discs_of_tile)


def test_tile_gives_tiled_labels_and_cutouts_of_them(checkpoint, discs_model, tmp_path, capsys):
    image = discs_image(separate_discs(100, 150, [20, 12, 12, 8, 8], seed=4))
    write_png(tmp_path / "big.png", image)
    out = tmp_path / "out"
    tiles = ["--tile", "64", "--tile-overlap", "40"]
    assert main(["automask", str(tmp_path / "big.png"), "--model", str(checkpoint), "--out", str(out), "--cutouts", *tiles]) == 0
    labels = read_image(out / "big_labels.tif")
    np.testing.assert_array_equal(labels, sam_stack.generate_labels_tiled(None, image, tile_size=64, overlap=40))
    numbers = sorted(set(np.unique(labels).tolist()) - {0})
    assert len(numbers) == 5
    assert sorted(path.name for path in (out / "big_segments").iterdir()) == sorted(f"{n}.png" for n in numbers)
    for number in numbers:
        rows, cols = np.nonzero(labels == number)
        cutout = read_image(out / "big_segments" / f"{number}.png")
        box = slice(rows.min(), rows.max() + 1), slice(cols.min(), cols.max() + 1)
        np.testing.assert_array_equal(cutout[..., 3] > 0, labels[box] == number)
        np.testing.assert_array_equal(cutout[..., :3], image[box])
    assert "tiles of 64" in capsys.readouterr().out


def test_images_longer_than_4096_pixels_are_tiled_unless_told_not_to(checkpoint, discs_model, tmp_path, capsys, monkeypatch):
    write_png(tmp_path / "strip.png", discs_image(separate_discs(8, 4100, [2] * 30, seed=5)))
    out = tmp_path / "out"
    assert main(["automask", str(tmp_path / "strip.png"), "--model", str(checkpoint), "--out", str(out)]) == 0
    assert "tiles of 1024" in capsys.readouterr().out
    assert read_image(out / "strip_labels.tif").max() > 0

    monkeypatch.setattr("sam_stack.cli_automask.iter_masks", lambda model, image, **parameters: iter([]))
    assert main(["automask", str(tmp_path / "strip.png"), "--model", str(checkpoint), "--out", str(out), "--tile", "0"]) == 0
    assert "tiles of" not in capsys.readouterr().out
    assert read_image(out / "strip_labels.tif").max() == 0


def test_a_bad_tile_size_is_reported(checkpoint, tmp_path, capsys):
    write_png(tmp_path / "a.png", random_discs(60, 80, seed=1))
    status = main(["automask", str(tmp_path / "a.png"), "--model", str(checkpoint), "--out", str(tmp_path / "out"), "--tile", "64", "--tile-overlap", "64"])
    assert status == 1
    assert "expected 0 <= overlap < tile_size" in capsys.readouterr().err
