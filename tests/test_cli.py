"""The `sam-stack` command, called as ``main([...])``: outputs, files written, exit codes, and
one-line errors, on small random-weight models."""

import hashlib

import cv2
import numpy as np
import pytest
import tifffile
from file_server import FileServer
from official_v1 import SMALL_VIT, build_official_sam, save_official_checkpoint
from official_v2 import build_official_sam2
from official_v2 import save_official_checkpoint as save_official_v2_checkpoint

import sam_stack
from sam_stack import benchmarking
from sam_stack.cli import main
from sam_stack.io import read_image
from sam_stack.models.catalog import CATALOG, CatalogEntry, list_models

IMAGE_HW = (120, 160)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A small official v1 checkpoint, its parameter count, and an RGB PNG and a 16-bit TIFF."""
    folder = tmp_path_factory.mktemp("cli")
    official = build_official_sam(SMALL_VIT, seed=0)
    save_official_checkpoint(official, folder / "tiny.pth")
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (*IMAGE_HW, 3), dtype=np.uint8)
    cv2.imwrite(str(folder / "image.png"), rgb[..., ::-1])
    tifffile.imwrite(folder / "image16.tif", rng.integers(0, 65536, IMAGE_HW, dtype=np.uint16))
    return {
        "checkpoint": folder / "tiny.pth",
        "parameters": sum(p.numel() for p in official.parameters()),
        "png": folder / "image.png",
        "tif": folder / "image16.tif",
    }


@pytest.fixture(scope="module")
def model(files):
    return sam_stack.load_model(files["checkpoint"], device="cpu")


@pytest.mark.parametrize("command", [[], ["info"], ["download"], ["segment"], ["benchmark"]])
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exited:
        main([*command, "--help"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: sam-stack {' '.join(command)}".strip())


def test_without_a_command_prints_help(capsys):
    assert main([]) == 0
    assert "info" in capsys.readouterr().out


def test_info_describes_an_official_checkpoint(files, capsys):
    assert main(["info", str(files["checkpoint"])]) == 0
    out = capsys.readouterr().out
    assert "SAM v1, size custom" in out
    assert f"parameters: {files['parameters']:,}" in out
    assert "weights only" in out and "image_encoder" in out and "mask_decoder" in out


def test_info_describes_a_saved_model(model, tmp_path, capsys):
    model.save(tmp_path / "saved.pt")
    assert main(["info", str(tmp_path / "saved.pt")]) == 0
    assert "written by sam_stack's model.save (format 1)" in capsys.readouterr().out


def test_info_reports_bad_files_in_one_line(files, tmp_path, capsys):
    assert main(["info", str(tmp_path / "missing.pth")]) == 1
    assert "sam-stack info: error: no checkpoint file at" in capsys.readouterr().err
    (tmp_path / "truncated.pth").write_bytes(files["checkpoint"].read_bytes()[:100_000])
    assert main(["info", str(tmp_path / "truncated.pth")]) == 1
    assert "could not be read as a PyTorch checkpoint" in capsys.readouterr().err


def test_download_without_names_lists_the_catalog(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SAM_STACK_CACHE", str(tmp_path))
    assert main(["download"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in list_models())
    assert f"cache: {tmp_path / 'models'}" in out


def test_download_fetches_a_model_by_name(files, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SAM_STACK_CACHE", str(tmp_path))
    data = files["checkpoint"].read_bytes()
    with FileServer({"tiny.pth": data}) as server:
        sha256 = hashlib.sha256(data).hexdigest()
        entry = CatalogEntry("test-tiny", "v1", "custom", server.url("tiny.pth"), len(data), sha256)
        monkeypatch.setitem(CATALOG, entry.name, entry)
        assert main(["download", "test-tiny"]) == 0
    assert capsys.readouterr().out.strip() == f"test-tiny: {tmp_path / 'models' / 'tiny.pth'}"
    assert (tmp_path / "models" / "tiny.pth").read_bytes() == data


def test_download_of_an_unknown_name_fails(capsys):
    assert main(["download", "sam-vit-q"]) == 1
    assert "no model named 'sam-vit-q'" in capsys.readouterr().err


def test_segment_writes_the_best_of_three_masks_for_one_point(files, model, tmp_path, capsys):
    out = tmp_path / "mask.png"
    argv = ["segment", str(files["png"]), "--model", str(files["checkpoint"]), "--out", str(out)]
    assert main([*argv, "--points", "40,60"]) == 0
    prediction = model.predict(model.encode_image(read_image(files["png"])), points=[[40, 60]])
    best = int(np.argmax(prediction.scores))
    np.testing.assert_array_equal(read_image(out), prediction.masks[best] * 255)
    assert f"mask index {best} of 3 candidates" in capsys.readouterr().out


def test_segment_with_box_and_points_writes_one_mask(files, model, tmp_path):
    out = tmp_path / "mask.tif"
    argv = ["segment", str(files["tif"]), "--model", str(files["checkpoint"]), "--out", str(out)]
    assert main([*argv, "--box", "10,20,90,100", "--points", "50,60", "30,30,0"]) == 0
    encoding = model.encode_image(tifffile.imread(files["tif"]))
    points, labels = [[50, 60], [30, 30]], [1, 0]
    prediction = model.predict(encoding, points=points, point_labels=labels, box=[10, 20, 90, 100], multimask=False)
    np.testing.assert_array_equal(read_image(out), prediction.masks[0] * 255)
    assert main([*argv, "--box", "10,20,90,100", "--multimask-index", "2"]) == 0
    prediction = model.predict(encoding, box=[10, 20, 90, 100], multimask=True)
    np.testing.assert_array_equal(read_image(out), prediction.masks[2] * 255)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--points", "500,60"], "found point(s) [[500.0, 60.0]] outside the 160 x 120 image"),
        ([], "no prompt given; expected --points and / or --box"),
    ],
)
def test_segment_reports_bad_prompts_in_one_line(files, tmp_path, capsys, arguments, message):
    argv = ["segment", str(files["png"]), "--model", str(files["checkpoint"]), "--out", str(tmp_path / "m.png")]
    assert main([*argv, *arguments]) == 1
    assert f"sam-stack segment: error: {message}" in capsys.readouterr().err
    assert not (tmp_path / "m.png").exists()


@pytest.mark.parametrize("arguments", [["--points", "5"], ["--points", "1,2,7"], ["--box", "1,2,3"], ["--box", "a,b,c,d"]])
def test_segment_rejects_malformed_coordinates(files, arguments, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["segment", str(files["png"]), "--model", "x.pth", "--out", "m.png", *arguments])
    assert exited.value.code == 2
    assert "found '" in capsys.readouterr().err


def test_benchmark_compares_with_the_official_predictor(files, monkeypatch, capsys):
    monkeypatch.setattr(benchmarking, "DECODE_REPEAT_FACTOR", 1)  # keep the test fast
    assert main(["benchmark", "--models", str(files["checkpoint"]), "--repeats", "1", "--device", "cpu"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "threads; torch" in lines[0]
    assert lines[1].startswith("| model | parameters | encode 1024 | encode 512 | decode | official encode 1024 |")
    cells = [cell.strip() for cell in lines[3].strip("|").split("|")]
    assert cells[0] == "tiny.pth (v1 custom)"
    assert cells[1] == f"{files['parameters'] / 1e6:.1f} M"
    assert cells[2].endswith(" ms") and cells[3] == "-"  # v1 encodes at 1024 only
    assert cells[5].endswith(" ms") and float(cells[6]) > 0  # the official predictor ran
    assert cells[9] == "-"  # no GPU memory on the CPU


@pytest.mark.slow
def test_benchmark_times_v2_models_at_512(tmp_path, monkeypatch, capsys):
    save_official_v2_checkpoint(build_official_sam2("v2.1", small=True), tmp_path / "tiny2.pt")
    monkeypatch.setattr(benchmarking, "DECODE_REPEAT_FACTOR", 1)
    argv = ["benchmark", "--models", str(tmp_path / "tiny2.pt"), "--repeats", "1", "--device", "cpu"]
    assert main([*argv, "--no-official"]) == 0
    cells = [cell.strip() for cell in capsys.readouterr().out.splitlines()[3].strip("|").split("|")]
    assert cells[0] == "tiny2.pt (v2.1 custom)"
    assert cells[2].endswith(" ms") and cells[3].endswith(" ms") and cells[5] == "-"


@pytest.mark.slow
def test_benchmark_compares_a_catalog_v2_model_with_the_official_predictor(monkeypatch, capsys):
    monkeypatch.setattr(benchmarking, "DECODE_REPEAT_FACTOR", 1)
    assert main(["benchmark", "--models", "sam2.1-hiera-tiny", "--repeats", "1", "--device", "cpu"]) == 0
    cells = [cell.strip() for cell in capsys.readouterr().out.splitlines()[3].strip("|").split("|")]
    assert cells[0] == "sam2.1-hiera-tiny (v2.1 tiny)"
    assert cells[1] == "39.0 M"  # the released SAM 2.1 tiny: 38,962,498
    assert cells[3].endswith(" ms") and float(cells[6]) > 0 and float(cells[8]) > 0


@pytest.mark.slow
@pytest.mark.parametrize("name", list_models())
def test_random_catalog_weights_load_as_their_model(name, tmp_path):
    path = benchmarking.write_random_checkpoint(name, tmp_path)
    model = sam_stack.load_model(path, device="cpu")
    assert (path.name, model.version, model.size) == (CATALOG[name].file_name, CATALOG[name].version, CATALOG[name].size)
