"""``model.encode_images``: one encoder pass for a batch, the same results as one by one."""

import numpy as np
import pytest
import torch
from official_v1 import SMALL_VIT, build_official_sam, save_official_checkpoint

import sam_stack
from sam_stack.errors import ImageError


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    path = tmp_path_factory.mktemp("weights") / "tiny.pth"
    save_official_checkpoint(build_official_sam(SMALL_VIT, seed=0), path)
    return sam_stack.load_model(path, device="cpu")


def test_a_batch_encodes_as_one_by_one(model):
    rng = np.random.default_rng(0)
    images = [
        rng.integers(0, 256, (300, 400, 3), dtype=np.uint8),  # landscape RGB
        rng.random((500, 200)).astype(np.float32),  # portrait, float grayscale
    ]
    batch = model.encode_images(images)
    assert len(batch) == len(images)
    for image, encoding in zip(images, batch):
        alone = model.encode_image(image)
        assert (encoding.image_size, encoding.input_size) == (alone.image_size, alone.input_size)
        # Predictions depend on nothing else of an encoding: equal features make equal masks.
        torch.testing.assert_close(encoding.features_bchw, alone.features_bchw, rtol=1e-5, atol=1e-5)
    # Each encoding owns its features: keeping one does not keep the whole batch in memory.
    assert batch[0].features_bchw.untyped_storage().nbytes() == batch[0].features_bchw.numel() * 4


def test_a_bad_image_in_a_batch_is_reported(model):
    with pytest.raises(ImageError, match="4 channels"):
        model.encode_images([np.zeros((8, 8), np.uint8), np.zeros((8, 8, 4), np.uint8)])
