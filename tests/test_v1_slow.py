"""The three published SAM v1 sizes at full size: recognised from their tensors, and matching the
official predictor on the same random weights.

Deep stacks of random blocks amplify the float32 rounding differences of reordered sums, so
these checks are relative: features and logits within 1e-3 of the largest official magnitude,
predicted IoU within 1e-3, and masks identical wherever the official logit is outside that band.
"""

import numpy as np
import pytest

import sam_stack
from official_v1 import OFFICIAL_VITS, build_official_sam, save_official_checkpoint

RELATIVE = 1e-3


@pytest.mark.slow
@pytest.mark.parametrize("size", OFFICIAL_VITS)
def test_official_size_matches_official_predictor(size, tmp_path):
    from segment_anything import SamPredictor

    official = build_official_sam(OFFICIAL_VITS[size], seed=7)
    path = tmp_path / f"sam_{size}.pth"
    save_official_checkpoint(official, path)
    ours = sam_stack.load_model(path, device="cpu")
    assert (ours.version, ours.size) == ("v1", size)

    image = np.random.default_rng(3).integers(0, 256, (480, 640, 3), dtype=np.uint8)
    predictor = SamPredictor(official)
    predictor.set_image(image)
    encoding = ours.encode_image(image)
    expected_features = predictor.features.numpy()
    scale = np.abs(expected_features).max()
    np.testing.assert_allclose(encoding.features_bchw.numpy(), expected_features, atol=RELATIVE * scale, rtol=0)

    prompts = dict(points=np.array([[320.0, 240.0], [100.0, 400.0]]), point_labels=np.array([1, 0]), box=np.array([200.0, 150.0, 500.0, 420.0]))
    full_logits, scores, logits = predictor.predict(
        prompts["points"], prompts["point_labels"], prompts["box"], return_logits=True
    )
    got = ours.predict(encoding, **prompts)
    band = RELATIVE * np.abs(logits).max()
    np.testing.assert_allclose(got.logits, logits, atol=band, rtol=0)
    np.testing.assert_allclose(got.scores, scores, atol=RELATIVE, rtol=0)
    decided = np.abs(full_logits) > band
    np.testing.assert_array_equal(got.masks[decided], full_logits[decided] > 0)
