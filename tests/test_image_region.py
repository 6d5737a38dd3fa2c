"""Field-of-view encoding: ``encode_image(image, region=...)`` and predictions in full-image pixels,
and masks turned into ``mask_logits``, for SAM v1, v2 and v2.1 (small random-weight models).

The reference for a region is the cropped image encoded on its own: the same pixels reach the
encoder, so the predictions must be the crop's exactly, shifted back into the full image. Prompts
here are whole or half pixels, which the shift by the region's corner leaves exact in float64.
The v2 model runs at a 512 x 512 input (its logits are resized to and from 256 x 256 there),
v2.1 at the default 1024, to cover both ways the low-resolution frame is made.
"""

import re
from types import SimpleNamespace

import numpy as np
import pytest
import torch

import sam_stack
from official_v1 import SMALL_VIT, build_official_sam
from official_v1 import save_official_checkpoint as save_official_v1
from official_v2 import build_official_sam2
from official_v2 import save_official_checkpoint as save_official_v2
from sam_stack.errors import ImageError, PromptError

VERSIONS = ["v1", "v2", "v2.1"]
REGION = (50, 30, 250, 200)  # x0, y0, x1, y1 of a 300 x 400 image: 170 x 200 pixels


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """version -> our model on small random weights, built on first use."""
    loaded = {}

    def get(version: str):
        if version not in loaded:
            folder = tmp_path_factory.mktemp(version)
            if version == "v1":
                path = folder / "sam_small.pth"
                save_official_v1(build_official_sam(SMALL_VIT, seed=4), path)
            else:
                path = folder / "sam2_small.pt"
                save_official_v2(build_official_sam2(version, small=True, seed=4), path)
            loaded[version] = sam_stack.load_model(path, device="cpu")
            if version == "v2":
                loaded[version].input_size = 512
        return loaded[version]

    return get


@pytest.fixture(scope="module")
def image():
    return np.random.default_rng(7).integers(0, 256, size=(300, 400, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def encoded(models, image):
    """version -> the model and its encodings of the whole image, of REGION and of the crop."""
    made = {}

    def get(version: str):
        if version not in made:
            model = models(version)
            made[version] = SimpleNamespace(
                model=model,
                whole=model.encode_image(image),
                region=model.encode_image(image, region=REGION),
                crop=model.encode_image(cropped(image)),
            )
        return made[version]

    return get


def cropped(image, region=REGION):
    x0, y0, x1, y1 = region
    return image[y0:y1, x0:x1]


def assert_region_prediction_is_the_crops(in_region, on_crop, region=REGION):
    x0, y0, x1, y1 = region
    assert in_region.masks.shape[1:] == (300, 400)
    np.testing.assert_array_equal(in_region.masks[:, y0:y1, x0:x1], on_crop.masks)
    outside = in_region.masks.copy()
    outside[:, y0:y1, x0:x1] = False
    assert not outside.any()
    np.testing.assert_allclose(in_region.logits, on_crop.logits, rtol=0, atol=1e-6)
    np.testing.assert_allclose(in_region.scores, on_crop.scores, rtol=0, atol=1e-6)


@pytest.mark.parametrize("version", VERSIONS)
def test_a_region_predicts_as_its_crop_shifted_back(encoded, version):
    model, in_region, on_crop = encoded(version).model, encoded(version).region, encoded(version).crop
    assert in_region.region.bounds == REGION and in_region.image_size == (170, 200)
    torch.testing.assert_close(in_region.features_bchw, on_crop.features_bchw, rtol=0, atol=0)

    x0, y0 = REGION[:2]
    points_xy, labels = np.array([[120.0, 90.0], [200.5, 150.0]]), np.array([1, 0])
    box = np.array([40.0, 20.0, 300.0, 180.5])  # reaches past the region on three sides: clipped to it
    region_box = np.array([max(box[0], x0), max(box[1], y0), min(box[2], 250), box[3]])
    first = model.predict(in_region, points=points_xy, point_labels=labels)
    expected = model.predict(on_crop, points=points_xy - (x0, y0), point_labels=labels)
    assert_region_prediction_is_the_crops(first, expected)
    assert expected.masks.any() and (~expected.masks).any()  # masks with an edge to compare

    shifted_box = region_box - (x0, y0, x0, y0)
    refined = model.predict(in_region, points=points_xy, point_labels=labels, box=box, mask_logits=first.logits[0], multimask=False)
    refined_crop = model.predict(
        on_crop, points=points_xy - (x0, y0), point_labels=labels, box=shifted_box, mask_logits=expected.logits[0], multimask=False
    )
    assert_region_prediction_is_the_crops(refined, refined_crop)


@pytest.mark.parametrize("version", VERSIONS)
def test_the_whole_image_as_region_is_the_plain_call(encoded, image, version):
    model, plain = encoded(version).model, encoded(version).whole
    prompts = dict(points=[[120, 90], [300, 250]], point_labels=[1, 0], box=[20, 10, 380, 290])
    expected = model.predict(plain, **prompts)
    whole = model.encode_image(image, region=(-20, -5, 450, 1000))  # clipped to the image
    assert whole.region.bounds == (0, 0, 400, 300)
    found = model.predict(whole, **prompts)
    np.testing.assert_array_equal(found.masks, expected.masks)
    np.testing.assert_allclose(found.logits, expected.logits, rtol=0, atol=1e-6)


def test_prompts_outside_the_region_are_refused_clearly(encoded):
    model, encoding = encoded("v1").model, encoded("v1").region
    where = re.escape("outside the encoded region x 50..250, y 30..200 of the 400 x 300 image")
    with pytest.raises(PromptError, match=where + re.escape("; expected 50 <= x < 250 and 30 <= y < 200")):
        model.predict(encoding, points=[[100, 100], [260, 100]])
    with pytest.raises(PromptError, match=r"point\(s\) \[\[100.0, 20.0\]\]"):
        model.predict(encoding, points=[[100, 20]])
    with pytest.raises(PromptError, match="wholly " + where):
        model.predict(encoding, box=[300, 100, 380, 150])
    model.predict(encoding, points=[[50, 30], [249.9, 199.9]])  # the region's edges are inside


@pytest.mark.parametrize(
    ("region", "message"),
    [
        ((100, 50, 100, 80), "leaves no pixel of the 400 x 300 image"),
        ((500, 0, 600, 100), "leaves no pixel"),
        ((0, -50, 100, 0), "leaves no pixel"),
        ((0.5, 0, 100, 100), "expected 4 whole pixel numbers"),
        ((0, 0, 100), "expected 4 whole pixel numbers"),
    ],
)
def test_bad_regions_are_refused_clearly(models, image, region, message):
    with pytest.raises(ImageError, match=message):
        models("v1").encode_image(image, region=region)


def disc(shape, centre_yx, radius):
    rows, cols = np.mgrid[: shape[0], : shape[1]]
    return (rows - centre_yx[0]) ** 2 + (cols - centre_yx[1]) ** 2 < radius**2


@pytest.mark.parametrize("version", VERSIONS)
def test_a_mask_becomes_logits_in_the_low_res_frame_of_the_encoding(encoded, version):
    """Upscaled as the model upscales its own logits, the mask prompt must land on the mask again:
    v1 lays the image into the top-left of a padded square, v2 stretches it over the whole frame,
    and a region's frame shows the region only."""
    model = encoded(version).model
    mask = disc((300, 400), (150, 120), 40)
    for encoding, part in ((encoded(version).whole, mask), (encoded(version).region, cropped(mask))):
        logits = model.logits_from_mask(encoding, mask)
        assert logits.shape == (256, 256) and logits.dtype == np.float32
        assert logits.max() == pytest.approx(10.0) and logits.min() == pytest.approx(-10.0)
        back = model.upscale_logits(torch.from_numpy(logits)[None, None], encoding)[0, 0].numpy() > 0
        assert back.shape == part.shape
        assert (back & part).sum() / (back | part).sum() > 0.9
    with pytest.raises(PromptError, match=re.escape("found a mask of shape (300, 300); expected the image's shape (300, 400)")):
        model.logits_from_mask(encoding, mask[:, :300])


def test_a_mask_prompt_steers_the_prediction(encoded):
    model, encoding = encoded("v2.1").model, encoded("v2.1").whole
    point = dict(points=[[120, 150]], point_labels=[1])
    plain = model.predict(encoding, **point)
    with_mask = model.predict(encoding, **point, mask_logits=model.logits_from_mask(encoding, disc((300, 400), (150, 120), 40)))
    assert not np.allclose(plain.logits, with_mask.logits, atol=1e-3)
