"""Every script in ``examples/`` runs on tiny random-weight models and writes what it says.

The scripts are run in this process (``runpy`` and their ``main(argv)``), which saves starting
Python and torch for each; one is also run as a script, as a user would."""

import runpy
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import tifffile
from tiny_models import fast_v1_file, fast_v2_file

import sam_stack
from sam_stack.io import read_image

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
FRAMES_THW = (4, 40, 48)


def run_example(name: str, argv: list[str]) -> int:
    return runpy.run_path(str(EXAMPLES / name))["main"]([str(arg) for arg in argv])


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("examples")
    rng = np.random.default_rng(3)
    cv2.imwrite(str(folder / "image.png"), rng.integers(0, 256, (48, 64, 3), dtype=np.uint8))
    tifffile.imwrite(folder / "other.tif", rng.integers(0, 65536, (30, 20), dtype=np.uint16))
    frames = rng.integers(0, 256, FRAMES_THW, dtype=np.uint8)
    tifffile.imwrite(folder / "stack.tif", frames, photometric="minisblack")
    mask = np.zeros(FRAMES_THW[1:], np.uint8)
    mask[8:30, 10:35] = 255
    cv2.imwrite(str(folder / "mask.png"), mask)
    return {
        "folder": folder,
        "frames": frames,
        "mask": mask > 0,
        "v1": fast_v1_file(folder / "tiny1.pt"),
        "v2": fast_v2_file(folder / "tiny2.pt"),
    }


@pytest.fixture(scope="module")
def v2(files):
    return sam_stack.load_model(files["v2"], device="cpu")


def test_every_example_is_listed_in_its_readme_and_has_help(capsys):
    scripts = sorted(path.name for path in EXAMPLES.glob("*.py"))
    listed = (EXAMPLES / "README.md").read_text(encoding="utf-8")
    assert len(scripts) == 10 and all(f"`{name}`" in listed and f"python examples/{name}" in listed for name in scripts)
    for name in scripts:
        with pytest.raises(SystemExit) as exited:
            run_example(name, ["--help"])
        assert exited.value.code == 0
        assert capsys.readouterr().out.startswith("usage:")


def test_an_example_runs_as_a_script(files, tmp_path):
    argv = [sys.executable, EXAMPLES / "segment_image.py", files["folder"] / "image.png", "--model", files["v1"]]
    result = subprocess.run([*map(str, argv), "--box", "5,5,40,30", "--out", str(tmp_path / "m.png")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "m.png: candidate" in result.stdout and read_image(tmp_path / "m.png").shape == (48, 64)


def test_segment_image_writes_the_best_mask(files, tmp_path):
    out = tmp_path / "mask.png"
    assert run_example("segment_image.py", [files["folder"] / "image.png", "--model", files["v1"], "--points", "20,15", "50,40,0", "--out", out]) == 0
    model = sam_stack.load_model(files["v1"], device="cpu")
    prediction = model.predict(
        model.encode_image(read_image(files["folder"] / "image.png")), points=[[20, 15], [50, 40]], point_labels=[1, 0]
    )
    np.testing.assert_array_equal(read_image(out), prediction.masks[np.argmax(prediction.scores)] * 255)


def test_segment_batch_writes_one_mask_per_image(files, tmp_path):
    images = [files["folder"] / "image.png", files["folder"] / "other.tif"]
    assert run_example("segment_batch.py", [*images, "--model", files["v2"], "--out", tmp_path]) == 0
    assert read_image(tmp_path / "image_mask.png").shape == (48, 64)
    assert read_image(tmp_path / "other_mask.png").shape == (30, 20)
    assert set(np.unique(read_image(tmp_path / "other_mask.png"))) <= {0, 255}


def test_automatic_masks_writes_the_generators_labels(files, v2, tmp_path):
    out = tmp_path / "labels.tif"
    # No score filters: random weights make poor masks, and some should come through.
    filters = ["--pred-iou-thresh", "0", "--stability-score-thresh", "0"]
    assert run_example("automatic_masks.py", [files["folder"] / "image.png", "--model", files["v2"], "--points-per-side", "4", *filters, "--out", out]) == 0
    records = sam_stack.generate_masks(v2, read_image(files["folder"] / "image.png"), points_per_side=4, pred_iou_thresh=0, stability_score_thresh=0)
    assert records
    np.testing.assert_array_equal(tifffile.imread(out), sam_stack.masks_to_labels(records))


def test_video_from_points_tracks_forward_from_the_prompted_frame(files, v2, tmp_path):
    out = tmp_path / "labels.tif"
    assert run_example("video_from_points.py", [files["folder"] / "stack.tif", "--model", files["v2"], "--frame", "1", "--points", "20,15", "--out", out]) == 0
    tracker = sam_stack.StackTracker(v2, files["frames"])
    tracker.add_prompt(1, 1, points=[[20, 15]], point_labels=[1])
    np.testing.assert_array_equal(tifffile.imread(out), tracker.run("forward"))
    assert not tifffile.imread(out)[0].any()


def test_video_from_mask_covers_every_frame(files, tmp_path):
    out = tmp_path / "labels.tif"
    assert run_example("video_from_mask.py", [files["folder"] / "stack.tif", "--model", files["v2"], "--frame", "2", "--mask", files["folder"] / "mask.png", "--out", out]) == 0
    labels = tifffile.imread(out)
    assert labels.shape == FRAMES_THW and set(np.unique(labels)) <= {0, 1}
    assert (labels == 1).any(axis=(1, 2)).all()


def test_video_several_objects_matches_a_forward_run(files, v2, tmp_path, capsys):
    out = tmp_path / "labels.tif"
    objects = ["--object", "1,0,10,10", "--object", "2,0,40,30", "--object", "2,2,35,25"]
    assert run_example("video_several_objects.py", [files["folder"] / "stack.tif", "--model", files["v2"], *objects, "--out", out]) == 0
    tracker = sam_stack.StackTracker(v2, files["frames"])
    tracker.add_prompt(0, 1, points=[[10, 10]])
    tracker.add_prompt(0, 2, points=[[40, 30]])
    tracker.add_prompt(2, 2, points=[[35, 25]])
    np.testing.assert_array_equal(tifffile.imread(out), tracker.run("forward"))
    printed = capsys.readouterr().out
    assert printed.count("frame ") == 4 and "objects [1, 2]" in printed


def test_video_samurai_prints_a_box_per_frame(files, tmp_path, capsys):
    out = tmp_path / "labels.tif"
    assert run_example("video_samurai.py", [files["folder"] / "stack.tif", "--model", files["v2"], "--box", "10,8,35,30", "--out", out]) == 0
    labels = tifffile.imread(out)
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("frame ")]
    assert len(lines) == 4 and labels.shape == FRAMES_THW
    for frame, line in enumerate(lines):
        if labels[frame].any():
            rows, columns = np.nonzero(labels[frame])
            assert line == f"frame {frame}: {columns.min()}, {rows.min()}, {columns.max() + 1}, {rows.max() + 1}"


def test_video_image_prior_writes_the_prior_mask_and_labels(files, tmp_path):
    out = tmp_path / "labels.tif"
    argv = [files["folder"] / "stack.tif", "--model", files["v2"], "--image", files["folder"] / "other.tif", "--points", "10,12"]
    assert run_example("video_image_prior.py", [*argv, "--out", out]) == 0
    assert read_image(tmp_path / "labels_prior.png").shape == (30, 20)
    labels = tifffile.imread(out)
    assert labels.shape == FRAMES_THW and set(np.unique(labels)) <= {0, 1}


def test_position_encodings_are_drawn_for_v1_and_v2(files, tmp_path, capsys):
    assert run_example("position_encodings.py", ["--model", files["v1"], files["v2"], "--input-size", "128", "--channel", "3", "--out", tmp_path]) == 0
    v1_channel = read_image(tmp_path / "tiny1_channel3.png")
    assert v1_channel.shape == (8, 8, 3) and read_image(tmp_path / "tiny2_norm.png").shape == (32, 32, 3)
    # Channel 3 of v1's learned table, drawn from dark to bright: the darkest pixel is its minimum.
    learned_hw = sam_stack.load_model(files["v1"], device="cpu").network.image_encoder.pos_embed[0, :, :, 3].detach().numpy()
    assert np.unravel_index(v1_channel.sum(axis=2).argmin(), (8, 8)) == np.unravel_index(learned_hw.argmin(), (8, 8))
    assert len(np.unique(read_image(tmp_path / "tiny2_channel3.png").reshape(-1, 3), axis=0)) > 10
    assert "tiny2 (v2.1): 32 x 32 tokens, 24 channels" in capsys.readouterr().out


@pytest.mark.gui
def test_position_encodings_open_in_napari(files, tmp_path, monkeypatch, make_napari_viewer):
    import napari

    viewers = []
    monkeypatch.setattr(napari, "Viewer", lambda **kwargs: viewers.append(make_napari_viewer(**kwargs)) or viewers[-1])
    monkeypatch.setattr(napari, "run", lambda: None)
    assert run_example("position_encodings.py", ["--model", files["v1"], files["v2"], "--input-size", "64", "--out", tmp_path, "--show"]) == 0
    (viewer,) = viewers
    assert [layer.name for layer in viewer.layers] == ["tiny1 (v1)", "tiny1 (v1) norm", "tiny2 (v2.1)", "tiny2 (v2.1) norm"]
    assert viewer.layers[0].data.shape == (64, 4, 4) and viewer.layers[2].data.shape == (24, 16, 16)


def test_speed_prints_a_row_per_model_and_size(files, capsys):
    assert run_example("speed.py", ["--model", files["v1"], files["v2"], "--sizes", "128", "64", "--repeats", "1", "--device", "cpu"]) == 0
    rows = capsys.readouterr().out.splitlines()[2:]
    assert [row.split("|")[2].strip() for row in rows] == ["1024", "128", "64"]
    assert all(row.split("|")[3].strip().endswith(" ms") and row.split("|")[5].strip() == "-" for row in rows)
