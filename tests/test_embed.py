"""`sam-stack embed`: a stack's encodings precomputed into a cache folder that later runs use."""

import numpy as np
import pytest
import tifffile

import sam_stack
from official_v1 import SMALL_VIT, build_official_sam, save_official_checkpoint as save_v1
from official_v2 import save_official_checkpoint
from official_v2_video import build_official_video_predictor
from sam_stack.cli import main
from sam_stack.tasks.embedding_cache import EmbeddingCache
from sam_stack.tasks.embedding_cache_encode import cached_encode
from sam_stack.tasks.stack_tracking import StackTracker

FRAMES = np.random.default_rng(0).integers(0, 256, (2, 48, 64), dtype=np.uint8)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A shrunk SAM 2.1 built for a 128-pixel input (its checkpoint, weights only, does not say so)."""
    path = tmp_path_factory.mktemp("model") / "tiny2.pt"
    save_official_checkpoint(build_official_video_predictor("v2.1", image_size=128, seed=11), path)
    return path


def test_embedding_a_stack_lets_propagation_skip_the_encoder(checkpoint, tmp_path, capsys):
    tifffile.imwrite(tmp_path / "stack.tif", FRAMES, photometric="minisblack")
    command = ["embed", str(tmp_path / "stack.tif"), "--model", str(checkpoint), "--cache", str(tmp_path / "cache")]
    assert main([*command, "--input-size", "128"]) == 0
    out, err = capsys.readouterr()
    assert "2 encoded, 0 already there" in out
    assert "embedding" in err and "2/2" in err  # the progress bar

    model = sam_stack.load_model(checkpoint, device="cpu")
    model.input_size = 128
    cache = EmbeddingCache(directory=tmp_path / "cache")
    tracker = StackTracker(model, FRAMES, embedding_cache=cache)
    tracker.add_prompt(0, 1, points=[[30, 20]])
    tracker.run(direction="forward")
    assert (cache.stats.disk_hits, cache.stats.misses) == (2, 0)
    encoding = cached_encode(model, FRAMES[1], cache)
    assert cache.stats.memory_hits == 1
    assert np.array_equal(encoding.features_bchw.numpy(), model.encode_image(FRAMES[1]).features_bchw.numpy())


def test_embedding_again_checks_and_skips_what_is_there(checkpoint, tmp_path, capsys):
    np.save(tmp_path / "stack.npy", FRAMES)
    command = ["embed", str(tmp_path / "stack.npy"), "--model", str(checkpoint), "--cache", str(tmp_path / "cache"), "--no-progress"]
    command += ["--input-size", "128"]
    assert main(command) == 0
    np.save(tmp_path / "stack.npy", np.concatenate([FRAMES, 255 - FRAMES[:1]]))
    assert main(command) == 0
    out, err = capsys.readouterr()
    assert "2 encoded, 0 already there" in out and "1 encoded, 2 already there" in out
    assert err == ""


def test_a_missing_stack_is_a_clear_error(checkpoint, tmp_path, capsys):
    assert main(["embed", str(tmp_path / "nothing.tif"), "--model", str(checkpoint), "--cache", str(tmp_path / "cache")]) == 1
    assert "nothing.tif" in capsys.readouterr().err
    assert not (tmp_path / "cache").exists()


def test_an_input_size_for_a_v1_model_is_a_clear_error(tmp_path, capsys):
    save_v1(build_official_sam(SMALL_VIT), tmp_path / "v1.pth")
    np.save(tmp_path / "stack.npy", FRAMES)
    command = ["embed", str(tmp_path / "stack.npy"), "--model", str(tmp_path / "v1.pth"), "--cache", str(tmp_path / "cache")]
    assert main([*command, "--input-size", "512"]) == 1
    assert "--input-size 512 for a SAM v1 model" in capsys.readouterr().err
    assert main([*command, "--bfloat16"]) == 1
    assert "--bfloat16 for a SAM v1 model" in capsys.readouterr().err
