"""SAM v1 on other kinds of input: mask refinement, any image dtype, and the defined behaviour
for unusual prompts. Parity cases use the tolerances of ``test_v1_parity``."""

import re

import numpy as np
import pytest

import sam_stack
from sam_stack.errors import ImageError, PromptError
from sam_stack.models.image_input import to_uint8_rgb
from official_v1 import SMALL_VIT, build_official_sam, save_official_checkpoint
from test_v1_parity import assert_same_prediction


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    from segment_anything import SamPredictor

    official = build_official_sam(SMALL_VIT, seed=2)
    path = tmp_path_factory.mktemp("v1") / "sam_small.pth"
    save_official_checkpoint(official, path)
    return SamPredictor(official), sam_stack.load_model(path, device="cpu")


@pytest.fixture(scope="module")
def gray_uint16():
    rng = np.random.default_rng(5)
    return (rng.random((300, 400)) * 4000 + 1000).astype(np.uint16)


@pytest.fixture(scope="module")
def encoded(models, gray_uint16):
    """Both models on the same grayscale uint16 image: the official predictor takes 8-bit RGB,
    so it is given the image as our normalisation maps it (stretched to 0-255, three channels)."""
    official, ours = models
    official.set_image(to_uint8_rgb(gray_uint16))
    return official, ours, ours.encode_image(gray_uint16)


def test_grayscale_uint16_matches_official(encoded):
    official, ours, encoding = encoded
    np.testing.assert_allclose(encoding.features_bchw.numpy(), official.features.numpy(), atol=1e-4, rtol=0)
    points, labels = np.array([[120.0, 80.0], [300.0, 200.0]]), np.array([1, 0])
    expected = official.predict(points, labels, return_logits=True)
    assert_same_prediction(expected, ours.predict(encoding, points, labels))


@pytest.mark.parametrize("multimask", [True, False])
def test_mask_refinement_matches_official(encoded, multimask):
    official, ours, encoding = encoded
    point, label = np.array([[200.0, 150.0]]), np.array([1])
    first = ours.predict(encoding, point, label)
    previous = first.logits[np.argmax(first.scores)]
    expected = official.predict(point, label, mask_input=previous[None], multimask_output=multimask, return_logits=True)
    assert_same_prediction(expected, ours.predict(encoding, point, label, mask_logits=previous, multimask=multimask))


def test_mask_alone_matches_official(encoded):
    official, ours, encoding = encoded
    previous = ours.predict(encoding, box=[50, 40, 250, 200]).logits[0]
    expected = official.predict(mask_input=previous[None], return_logits=True)
    assert_same_prediction(expected, ours.predict(encoding, mask_logits=previous))


def test_box_past_the_edge_is_clipped(encoded):
    _, ours, encoding = encoded
    clipped = ours.predict(encoding, box=[300, 200, 400, 300])
    past = ours.predict(encoding, box=[300, 200, 470, 390])
    np.testing.assert_array_equal(past.logits, clipped.logits)


def test_labels_default_to_foreground(encoded):
    _, ours, encoding = encoded
    implicit = ours.predict(encoding, points=[[100, 100]])
    explicit = ours.predict(encoding, points=[[100, 100]], point_labels=[1])
    np.testing.assert_array_equal(implicit.logits, explicit.logits)


@pytest.mark.parametrize(
    "prompts, message",
    [
        (dict(), "no prompt"),
        (dict(points=[[400, 10]]), "outside the 400 x 300 image"),
        (dict(points=[[10, -1]]), "outside"),
        (dict(points=[[1, 2, 3]]), "expected (N, 2)"),
        (dict(points=[[1, 2]], point_labels=[2]), "expected 1 (foreground) or 0 (background)"),
        (dict(points=[[1, 2]], point_labels=[1, 0]), "one per point"),
        (dict(point_labels=[1]), "without points"),
        (dict(box=[10, 10, 10, 50]), "empty box"),
        (dict(box=[50, 10, 20, 40]), "empty box"),
        (dict(box=[500, 400, 600, 500]), "wholly outside"),
        (dict(box=[1, 2, 3]), "4 finite numbers"),
        (dict(mask_logits=np.zeros((64, 64))), "expected (256, 256)"),
    ],
)
def test_bad_prompts_are_refused_clearly(encoded, prompts, message):
    _, ours, encoding = encoded
    with pytest.raises(PromptError, match=re.escape(message)):
        ours.predict(encoding, **prompts)


@pytest.mark.parametrize(
    "image",
    [
        np.random.default_rng(0).random((40, 50)),
        np.random.default_rng(0).random((40, 50, 3)).astype(np.float32) * 7 - 3,
        np.random.default_rng(0).random((40, 50)) > 0.5,
        np.random.default_rng(0).integers(-5, 5, (40, 50)).astype(np.int16),
        np.full((40, 50), 7, dtype=np.uint16),
    ],
    ids=["float64 gray", "float32 rgb", "bool", "int16", "constant"],
)
def test_any_numeric_dtype_is_normalised(image):
    rgb = to_uint8_rgb(image)
    assert rgb.shape == (40, 50, 3) and rgb.dtype == np.uint8
    if image.dtype != bool and np.ptp(image) > 0:
        assert rgb.min() == 0 and rgb.max() == 255


def test_images_of_any_dtype_encode(models):
    _, ours = models
    for image in (np.ones((30, 20), dtype=bool), np.linspace(0, 1, 600).reshape(20, 30)):
        encoding = ours.encode_image(image)
        assert encoding.image_size == image.shape
        assert ours.predict(encoding, points=[[5, 5]]).masks.shape == (3, *image.shape)


@pytest.mark.parametrize(
    "image, message",
    [
        (np.zeros((10, 10, 4), np.uint8), "4 channels"),
        (np.zeros((10,), np.uint8), "shape (10,)"),
        (np.zeros((2, 10, 10, 3), np.uint8), "shape (2, 10, 10, 3)"),
        (np.zeros((0, 10), np.uint8), "empty image"),
        (np.array([[1.0, np.nan]]), "NaN"),
        (np.array([["a", "b"]]), "dtype <U1"),
    ],
)
def test_bad_images_are_refused_clearly(models, image, message):
    _, ours = models
    with pytest.raises(ImageError, match=re.escape(message)):
        ours.encode_image(image)
