"""Loading SAM v1 files: official checkpoints of every size, our own files, and bad files."""

import numpy as np
import pytest
import torch

import sam_stack
from sam_stack.errors import CheckpointError, UnsupportedModelError
from sam_stack.models.v1.architecture import vit_architecture_from_state_dict
from official_v1 import OFFICIAL_VITS, SMALL_VIT, build_official_sam, save_official_checkpoint


@pytest.fixture(scope="module")
def small_checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp("v1") / "model.pth"
    save_official_checkpoint(build_official_sam(SMALL_VIT, seed=3), path)
    return path


def test_official_checkpoint_loads_with_version_and_size(small_checkpoint):
    model = sam_stack.load_model(small_checkpoint, device="cpu")
    assert (model.version, model.size) == ("v1", "custom")
    assert model.device == torch.device("cpu")


def test_the_file_name_does_not_decide_the_size(small_checkpoint, tmp_path):
    misleading = tmp_path / "sam_vit_h_4b8939.pth"
    misleading.write_bytes(small_checkpoint.read_bytes())
    assert sam_stack.load_model(misleading, device="cpu").size == "custom"


@pytest.mark.parametrize("size", OFFICIAL_VITS)
def test_official_sizes_are_recognised_from_tensor_shapes(size):
    from segment_anything.build_sam import _build_sam

    with torch.device("meta"):
        state_dict = _build_sam(**OFFICIAL_VITS[size]).state_dict()
    arch, name = vit_architecture_from_state_dict(state_dict)
    assert name == size
    assert arch.num_heads == OFFICIAL_VITS[size]["encoder_num_heads"]
    assert list(arch.global_attn_indexes) == OFFICIAL_VITS[size]["encoder_global_attn_indexes"]


def test_saved_model_loads_back_identical(small_checkpoint, tmp_path):
    model = sam_stack.load_model(small_checkpoint, device="cpu")
    model.save(tmp_path / "ours.pt")
    again = sam_stack.load_model(tmp_path / "ours.pt", device="cpu")
    assert (again.version, again.size) == (model.version, model.size)
    assert again.network.arch == model.network.arch
    for (key, a), (key_b, b) in zip(model.network.state_dict().items(), again.network.state_dict().items()):
        assert key == key_b and torch.equal(a, b)
    image = np.random.default_rng(0).integers(0, 255, (64, 80, 3), dtype=np.uint8)
    first = model.predict(model.encode_image(image), points=[[10, 20]])
    second = again.predict(again.encode_image(image), points=[[10, 20]])
    np.testing.assert_array_equal(first.logits, second.logits)


def test_saved_file_holds_tensors_and_plain_data_only(small_checkpoint, tmp_path):
    sam_stack.load_model(small_checkpoint, device="cpu").save(tmp_path / "ours.pt")
    payload = torch.load(tmp_path / "ours.pt", weights_only=True)
    assert payload["sam_stack"]["version"] == "v1"


def test_missing_file(tmp_path):
    with pytest.raises(CheckpointError, match="no checkpoint file at"):
        sam_stack.load_model(tmp_path / "nothing.pth")


def test_a_file_that_is_not_a_checkpoint(tmp_path):
    path = tmp_path / "notes.pth"
    path.write_text("these are not weights\n")
    with pytest.raises(CheckpointError, match="notes.pth"):
        sam_stack.load_model(path)


def test_a_truncated_file(small_checkpoint, tmp_path):
    path = tmp_path / "cut.pth"
    data = small_checkpoint.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated, corrupt"):
        sam_stack.load_model(path)


class NotATensor:
    pass


def test_a_file_with_pickled_objects_is_not_unpickled(tmp_path):
    path = tmp_path / "evil.pth"
    torch.save({"model": NotATensor()}, path)
    with pytest.raises(CheckpointError, match="weights_only=True"):
        sam_stack.load_model(path)


def test_an_unknown_model_names_its_keys(tmp_path):
    path = tmp_path / "resnet.pth"
    torch.save({"conv1.weight": torch.zeros(3), "fc.bias": torch.zeros(2)}, path)
    with pytest.raises(CheckpointError, match="'conv1.weight'"):
        sam_stack.load_model(path)


def test_a_v1_state_dict_with_missing_and_extra_tensors_names_them(small_checkpoint, tmp_path):
    state_dict = torch.load(small_checkpoint, weights_only=True)
    del state_dict["mask_decoder.iou_token.weight"]
    state_dict["mask_decoder.extra.weight"] = torch.zeros(1)
    torch.save(state_dict, tmp_path / "edited.pth")
    with pytest.raises(CheckpointError, match=r"missing, e\.g\. 'mask_decoder\.iou_token\.weight'.*'mask_decoder\.extra\.weight'"):
        sam_stack.load_model(tmp_path / "edited.pth")


def test_a_v2_checkpoint_is_recognised(tmp_path):
    state_dict = {
        "image_encoder.trunk.patch_embed.proj.weight": torch.zeros(1),
        "memory_encoder.out_proj.weight": torch.zeros(1),
        "no_obj_embed_spatial": torch.zeros(1),
    }
    torch.save({"model": state_dict}, tmp_path / "sam2.1.pt")
    with pytest.raises((UnsupportedModelError, CheckpointError), match="v2.1"):
        sam_stack.load_model(tmp_path / "sam2.1.pt")


def test_a_file_of_zero_bytes_is_called_corrupt(tmp_path):
    path = tmp_path / "zeros.pth"
    path.write_bytes(bytes(1000))
    with pytest.raises(CheckpointError, match="truncated, corrupt or not a model file"):
        sam_stack.load_model(path)
