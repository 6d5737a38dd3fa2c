"""Loading SAM v2 / v2.1 models: official checkpoints, our own files, and clear errors.

The architecture (version, size, which optional parts exist) is read from the tensors alone;
files written by ``model.save`` carry it beside the weights.
"""

import json
from dataclasses import replace

import numpy as np
import pytest
import torch

import sam_stack
from official_v2 import build_official_sam2, randomise_, save_official_checkpoint
from sam_stack.errors import CheckpointError
from sam_stack.models.v2 import architecture as hiera
from sam_stack.models.v2.model_architecture import (
    SamV2Architecture,
    official_architecture,
    samv2_architecture_from_state_dict,
)
from sam_stack.models.v2.sam_v2 import SamV2



@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    """version -> path of a small official checkpoint with random weights."""
    folder = tmp_path_factory.mktemp("v2_loading")
    paths = {}
    for version in ("v2", "v2.1"):
        paths[version] = folder / f"sam{version}_small.pt"
        save_official_checkpoint(build_official_sam2(version, small=True, seed=8), paths[version])
    return paths


def official_state_dict(path) -> dict:
    return torch.load(path, weights_only=True)["model"]


@pytest.mark.parametrize("version", ["v2", "v2.1"])
def test_version_and_parts_are_read_from_the_tensors(checkpoints, version):
    model = sam_stack.load_model(checkpoints[version], device="cpu")
    assert (model.version, model.size) == (version, "custom")
    arch = model.network.arch
    assert arch.image_encoder.stages == (1, 1, 2, 1) and arch.image_encoder.embed_dim == 24
    assert arch.memory.fusion.depth == 1
    assert (model.network.no_obj_embed_spatial is not None) == (version == "v2.1")
    assert set(model.network.state_dict()) == set(official_state_dict(checkpoints[version]))


@pytest.mark.parametrize("version", ["v2", "v2.1"])
def test_released_tiny_architecture_is_recognised(version):
    state_dict = build_official_sam2(version, "tiny").state_dict()
    arch, size = samv2_architecture_from_state_dict(state_dict)
    assert (arch.version, size) == (version, "tiny")
    assert arch == official_architecture(version, hiera.tiny)
    SamV2(arch).load_state_dict(state_dict, strict=True)


@pytest.mark.slow
@pytest.mark.parametrize("size", ["small", "base_plus", "large"])
@pytest.mark.parametrize("version", ["v2", "v2.1"])
def test_released_architectures_are_recognised(version, size):
    state_dict = build_official_sam2(version, size).state_dict()
    arch, found = samv2_architecture_from_state_dict(state_dict)
    assert (arch.version, found) == (version, size)
    assert arch == official_architecture(version, hiera.OFFICIAL_SIZES[size])


@pytest.mark.parametrize("version", ["v2", "v2.1"])
def test_architecture_round_trips_through_a_dict(version):
    arch = official_architecture(version, hiera.large)
    assert SamV2Architecture.from_dict(json.loads(json.dumps(arch.to_dict()))) == arch


def test_architecture_rejects_unknown_fields():
    values = official_architecture("v2.1", hiera.tiny).to_dict()
    with pytest.raises(CheckpointError, match="image_sise"):
        SamV2Architecture.from_dict({**values, "image_sise": 512})


@pytest.mark.parametrize("version", ["v2", "v2.1"])
def test_save_round_trip(checkpoints, tmp_path, version):
    model = sam_stack.load_model(checkpoints[version], device="cpu")
    model.save(tmp_path / "saved.pt")
    payload = torch.load(tmp_path / "saved.pt", weights_only=True)
    assert payload["sam_stack"]["version"] == version and payload["sam_stack"]["format"] == 1
    reloaded = sam_stack.load_model(tmp_path / "saved.pt", device="cpu")
    assert (reloaded.version, reloaded.size) == (version, "custom")
    assert reloaded.network.arch == model.network.arch
    image = np.random.default_rng(0).integers(0, 256, (64, 96, 3), dtype=np.uint8)
    for loaded in (model, reloaded):
        loaded.input_size = 256  # a small input keeps this test fast
    first = model.predict(model.encode_image(image), points=[[40, 30]])
    second = reloaded.predict(reloaded.encode_image(image), points=[[40, 30]])
    np.testing.assert_array_equal(first.logits, second.logits)
    np.testing.assert_array_equal(first.masks, second.masks)


def test_a_saved_architecture_is_used_rather_than_guessed(tmp_path):
    """A Hiera with two heads: no tensor tells the head count, so only our file can restore it."""
    two_heads = replace(hiera.tiny, stages=(1, 1, 2, 1), global_att_blocks=(3,), num_heads=2)
    arch = official_architecture("v2.1", two_heads)
    network = SamV2(arch)
    randomise_(network, seed=9)
    state_dict = network.state_dict()
    torch.save({"model": state_dict}, tmp_path / "official_format.pt")
    guessed = sam_stack.load_model(tmp_path / "official_format.pt", device="cpu")
    assert guessed.network.arch.image_encoder.num_heads == 1
    torch.save(
        {"model": state_dict, "sam_stack": {"format": 1, "version": "v2.1", "size": "custom", "architecture": arch.to_dict()}},
        tmp_path / "ours.pt",
    )
    assert sam_stack.load_model(tmp_path / "ours.pt", device="cpu").network.arch == arch


def test_missing_and_unexpected_tensors_are_named(checkpoints, tmp_path):
    state_dict = official_state_dict(checkpoints["v2.1"])
    del state_dict["sam_mask_decoder.iou_token.weight"]
    state_dict["sam_mask_decoder.extra.weight"] = torch.zeros(1)
    torch.save({"model": state_dict}, tmp_path / "edited.pt")
    with pytest.raises(
        CheckpointError, match=r"missing, e\.g\. 'sam_mask_decoder\.iou_token\.weight'.*'sam_mask_decoder\.extra\.weight'"
    ):
        sam_stack.load_model(tmp_path / "edited.pt", device="cpu")


def test_a_tensor_of_the_wrong_shape_is_named(checkpoints, tmp_path):
    state_dict = official_state_dict(checkpoints["v2"])
    state_dict["no_mem_embed"] = torch.zeros(1, 1, 128)
    torch.save({"model": state_dict}, tmp_path / "edited.pt")
    with pytest.raises(CheckpointError, match=r"no_mem_embed: \(1, 1, 128\) instead of \(1, 1, 256\)"):
        sam_stack.load_model(tmp_path / "edited.pt", device="cpu")


def test_incomplete_weights_name_the_missing_tensor(checkpoints, tmp_path):
    state_dict = official_state_dict(checkpoints["v2.1"])
    del state_dict["image_encoder.trunk.pos_embed"]
    torch.save({"model": state_dict}, tmp_path / "edited.pt")
    with pytest.raises(CheckpointError, match=r"SAM v2\.1 weights are incomplete.*image_encoder\.trunk\.pos_embed"):
        sam_stack.load_model(tmp_path / "edited.pt", device="cpu")
