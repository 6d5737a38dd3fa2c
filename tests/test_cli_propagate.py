"""`sam-stack propagate`: stacks from TIFF files and folders, the prompts file, directions,
SAMURAI, outputs, and one-line errors, on a tiny random-weight SAM v2.1."""

import json

import cv2
import numpy as np
import pytest
import tifffile
from tiny_models import fast_v1_file, fast_v2_file

import sam_stack
from sam_stack.cli import main
from sam_stack.io import TiffPages, read_image, read_stack
from sam_stack.prompt_file import read_prompt_file

FRAMES_THW = (4, 40, 48)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("propagate")
    frames = np.random.default_rng(1).integers(0, 4096, FRAMES_THW, dtype=np.uint16)
    tifffile.imwrite(folder / "stack.tif", frames, photometric="minisblack", compression="zlib")  # compressed: read page by page
    (folder / "frames").mkdir()
    for t, frame in enumerate(frames):
        cv2.imwrite(str(folder / "frames" / f"t{t}.png"), frame)
    mask = np.zeros(FRAMES_THW[1:], dtype=np.uint8)
    mask[10:25, 12:30] = 255
    cv2.imwrite(str(folder / "mask.png"), mask)
    return {
        "folder": folder,
        "frames": frames,
        "mask": mask > 0,
        "v2": fast_v2_file(folder / "tiny2.pt"),
        "v1": fast_v1_file(folder / "tiny1.pt"),
    }


@pytest.fixture(scope="module")
def model(files):
    return sam_stack.load_model(files["v2"], device="cpu")


def prompts_file(folder, objects, name="prompts.json"):
    path = folder / name
    path.write_text(json.dumps({"objects": objects}))
    return path


def expected_labels(model, frames, prompts, direction, samurai=False):
    tracker = sam_stack.StackTracker(model, frames, samurai=samurai)
    for prompt in prompts:
        tracker.add_prompt(prompt["frame"], prompt["id"], **prompt["arguments"])
    return tracker.run(direction)


def test_a_tiff_stack_with_points_and_a_box_is_propagated_forward(files, model, tmp_path, capsys):
    objects = [
        {"id": 3, "frame": 1, "points": [[20, 15], [40, 30]], "labels": [1, 0]},
        {"id": 7, "frame": 1, "box": [5, 20, 30, 38]},
    ]
    prompts = prompts_file(tmp_path, objects)
    out = tmp_path / "labels.tif"
    assert main(["propagate", str(files["folder"] / "stack.tif"), "--model", str(files["v2"]), "--prompts", str(prompts), "--out", str(out)]) == 0
    expected = expected_labels(
        model,
        files["frames"],
        [
            {"frame": 1, "id": 3, "arguments": dict(points=[[20, 15], [40, 30]], point_labels=[1, 0])},
            {"frame": 1, "id": 7, "arguments": dict(box=[5, 20, 30, 38])},
        ],
        "forward",
    )
    written = tifffile.imread(out)
    assert written.dtype == np.uint32 and written.shape == FRAMES_THW
    np.testing.assert_array_equal(written, expected)
    assert not written[0].any()  # forward starts at the prompted frame
    assert set(np.unique(written)) == {0, 3, 7}
    assert "labels.tif: 4 frames of 48 x 40; object 3 on" in capsys.readouterr().out


def test_a_folder_with_a_mask_prompt_is_propagated_both_ways_into_a_folder(files, model, tmp_path):
    prompts = prompts_file(tmp_path, [{"id": 2, "frame": 2, "mask": "mask.png"}])
    (tmp_path / "mask.png").write_bytes((files["folder"] / "mask.png").read_bytes())
    out = tmp_path / "labels"
    argv = ["propagate", str(files["folder"] / "frames"), "--model", str(files["v2"]), "--prompts", str(prompts), "--out", str(out)]
    assert main([*argv, "--both"]) == 0
    expected = expected_labels(model, files["frames"], [{"frame": 2, "id": 2, "arguments": dict(mask=files["mask"])}], "both")
    written = np.stack([read_image(out / f"frame_{t:05d}.png") for t in range(FRAMES_THW[0])])
    np.testing.assert_array_equal(written, expected)
    assert (written == 2).any(axis=(1, 2)).all()  # both ways: every frame is reached
    assert sorted(path.name for path in tmp_path.iterdir()) == ["labels", "mask.png", "prompts.json"]


def test_reverse_with_samurai(files, model, tmp_path):
    prompts = prompts_file(tmp_path, [{"id": 1, "frame": 2, "box": [10, 10, 35, 30]}])
    out = tmp_path / "labels.tiff"
    argv = ["propagate", str(files["folder"] / "stack.tif"), "--model", str(files["v2"]), "--prompts", str(prompts)]
    assert main([*argv, "--out", str(out), "--reverse", "--samurai"]) == 0
    expected = expected_labels(model, files["frames"], [{"frame": 2, "id": 1, "arguments": dict(box=[10, 10, 35, 30])}], "backward", samurai=True)
    np.testing.assert_array_equal(tifffile.imread(out), expected)
    assert not tifffile.imread(out)[3].any()  # reverse ends at frame 0, never reaches frame 3


def test_a_compressed_tiff_is_read_page_by_page(files):
    stack = read_stack(files["folder"] / "stack.tif")
    assert isinstance(stack, TiffPages) and stack.shape == FRAMES_THW and len(stack) == 4
    np.testing.assert_array_equal(stack[3], files["frames"][3])


def test_a_v1_model_is_refused_in_one_line(files, tmp_path, capsys):
    prompts = prompts_file(tmp_path, [{"id": 1, "frame": 0, "points": [[5, 5]]}])
    argv = ["propagate", str(files["folder"] / "stack.tif"), "--model", str(files["v1"]), "--prompts", str(prompts)]
    assert main([*argv, "--out", str(tmp_path / "l.tif")]) == 1
    assert "sam-stack propagate: error: found a SAM v1 model" in capsys.readouterr().err
    assert not (tmp_path / "l.tif").exists()


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"things": []}, 'found {"things": []}; expected {"objects": [...]}'),
        ({"objects": []}, 'found an empty "objects" list'),
        ({"objects": [{"id": 0, "frame": 0, "points": [[1, 2]]}]}, 'objects[0]: "id" is 0; expected an integer from 1 to 4294967295'),
        ({"objects": [{"id": 1, "frame": -1, "points": [[1, 2]]}]}, 'objects[0] (id 1): "frame" is -1; expected an integer >= 0'),
        ({"objects": [{"id": 1, "frame": 0, "points": [[1, 2, 3]]}]}, '"points" is [[1, 2, 3]]; expected a list of [x, y] pairs'),
        ({"objects": [{"id": 1, "frame": 0, "points": [[1, "a"]]}]}, '"points" is [[1, "a"]]; expected a list of [x, y] pairs'),
        ({"objects": [{"id": 1, "frame": 0, "points": [[1, 2]], "labels": [2]}]}, '"labels" is [2]; expected one label per point (1)'),
        ({"objects": [{"id": 1, "frame": 0, "box": [1, 2, 3]}]}, '"box" is [1, 2, 3]; expected [x0, y0, x1, y1]'),
        ({"objects": [{"id": 1, "frame": 0, "point": [1, 2]}]}, "found the field(s) 'point'; expected only id, frame,"),
        ({"objects": [{"id": 1, "frame": 0}]}, 'found no prompt; expected "points", "box" or "mask"'),
        ({"objects": [{"id": 1, "frame": 0, "mask": "none.png"}]}, '"mask": no file or folder at'),
        ({"objects": [{"id": 1, "frame": 0, "mask": "mask.png", "box": [1, 2, 3, 4]}]}, "found a mask together with points or a box"),
        (
            {"objects": [{"id": 1, "frame": 0, "box": [1, 2, 3, 4]}, {"id": 1, "frame": 0, "points": [[1, 2]]}]},
            "objects[1] (id 1), frame 0: object 1 is prompted twice on frame 0",
        ),
    ],
)
def test_mistakes_in_the_prompts_file_are_named(files, tmp_path, capsys, document, message):
    (tmp_path / "mask.png").write_bytes((files["folder"] / "mask.png").read_bytes())
    (tmp_path / "prompts.json").write_text(json.dumps(document))
    argv = ["propagate", str(files["folder"] / "stack.tif"), "--model", str(files["v2"]), "--prompts", str(tmp_path / "prompts.json")]
    assert main([*argv, "--out", str(tmp_path / "l.tif")]) == 1
    error = capsys.readouterr().err
    assert error.startswith(f"sam-stack propagate: error: {tmp_path / 'prompts.json'}")
    assert message in error


@pytest.mark.parametrize(
    ("objects", "message"),
    [
        ([{"id": 1, "frame": 9, "points": [[5, 5]]}], "objects[0] (id 1), frame 9: found frame 9; expected an int 0 <= frame < 4"),
        ([{"id": 1, "frame": 0, "points": [[500, 5]]}], "objects[0] (id 1), frame 0: found point(s) [[500.0, 5.0]] outside"),
        ([{"id": 1, "frame": 0, "mask": "small.png"}], "objects[0] (id 1), frame 0: found a mask of shape (4, 4); expected (40, 48)"),
    ],
)
def test_prompts_that_do_not_fit_the_stack_are_named(files, tmp_path, capsys, objects, message):
    cv2.imwrite(str(tmp_path / "small.png"), np.ones((4, 4), np.uint8))
    prompts = prompts_file(tmp_path, objects)
    argv = ["propagate", str(files["folder"] / "stack.tif"), "--model", str(files["v2"]), "--prompts", str(prompts)]
    assert main([*argv, "--out", str(tmp_path / "l.tif")]) == 1
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    ("out", "message"),
    [("labels.png", "found --out"), ("missing/labels.tif", "no folder")],
)
def test_an_output_that_cannot_be_written_is_refused_before_the_run(files, tmp_path, capsys, out, message):
    prompts = prompts_file(tmp_path, [{"id": 1, "frame": 0, "points": [[5, 5]]}])
    argv = ["propagate", str(files["folder"] / "stack.tif"), "--model", "no-such-model", "--prompts", str(prompts)]
    assert main([*argv, "--out", str(tmp_path / out)]) == 1
    assert message in capsys.readouterr().err


def test_large_ids_need_a_tiff(files, tmp_path, capsys):
    prompts = prompts_file(tmp_path, [{"id": 70000, "frame": 0, "points": [[5, 5]]}])
    argv = ["propagate", str(files["folder"] / "stack.tif"), "--model", str(files["v2"]), "--prompts", str(prompts)]
    assert main([*argv, "--out", str(tmp_path / "labels")]) == 1
    assert "PNG frames hold ids up to 65535" in capsys.readouterr().err


def test_reverse_and_both_exclude_each_other(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["propagate", "s.tif", "--model", "m.pt", "--prompts", "p.json", "--out", "l.tif", "--reverse", "--both"])
    assert exited.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_labels_default_to_the_object(tmp_path):
    prompts = prompts_file(tmp_path, [{"id": 5, "frame": 2, "points": [[1, 2], [3.5, 4]], "box": [0, 0, 9, 9]}])
    (prompt,) = read_prompt_file(prompts)
    assert (prompt.object_id, prompt.frame, prompt.mask) == (5, 2, None)
    np.testing.assert_array_equal(prompt.points, [[1, 2], [3.5, 4]])
    np.testing.assert_array_equal(prompt.labels, [1, 1])
    np.testing.assert_array_equal(prompt.box, [0, 0, 9, 9])
