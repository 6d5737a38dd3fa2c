"""Parity of SAM v2 / v2.1 image segmentation with the official ``SAM2ImagePredictor``.

Both sides get the same random weights (an official ``SAM2Base`` re-randomised and saved as an
official ``.pt``, loaded by ``sam_stack.load_model``), the same images and the same prompts. The
official predictor takes uint8 RGB only, so it is given what ``sam_stack`` makes of the other
dtypes (``image_input.to_uint8_rgb``).

Tolerances (float32 on the CPU): the encoders run the same kernels in the same order, and the
decoders differ only in how some sums are grouped, so on one machine the outputs agree exactly
(max difference 0.0 in every case below). The margins allow for kernels that split reductions
differently elsewhere: 1e-4 on features and low-resolution logits (values up to about 20), 1e-5
on predicted IoU (in [0, 1], after a sigmoid) and the object score. Masks must be identical
wherever the official full-size logit is further than 1e-4 from the threshold; a pixel closer
than that may fall on either side under another order of summation.

The everyday suite uses a small Hiera (``official_v2.SMALL_OVERRIDES``); v2.1 sees every image,
v2 (whose image path differs from v2.1's only in its weights) one. The four released sizes of
both versions run in the ``slow`` set.
"""

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch.nn import functional as F

import sam_stack
from official_v2 import build_official_sam2, official_predictor, save_official_checkpoint
from sam_stack.errors import ImageError
from sam_stack.models.image_input import to_uint8_rgb
from sam_stack.models.v2.mask_selection import stability_scores


FEATURE_ATOL = 1e-4
LOGIT_ATOL = 1e-4
SCORE_ATOL = 1e-5


def random_image(shape, dtype=np.uint8, seed=0):
    rng = np.random.default_rng(seed)
    if dtype == np.uint8:
        return rng.integers(0, 256, size=shape, dtype=np.uint8)
    return rng.integers(0, 65536, size=shape).astype(dtype)


IMAGES = {
    "rgb-480x640": lambda: random_image((480, 640, 3), seed=0),
    "rgb-1000x300": lambda: random_image((1000, 300, 3), seed=1),
    "gray-uint16-300x400": lambda: random_image((300, 400), np.uint16, seed=2),
}

# Prompts in fractions of the image's width and height, so every image gets the same layout.
CASES = {
    "one point": dict(points=[[0.3, 0.3]], point_labels=[1]),
    "points with background": dict(points=[[0.3, 0.3], [0.6, 0.6], [0.1, 0.85]], point_labels=[1, 0, 1]),
    "box": dict(box=[0.15, 0.15, 0.65, 0.75]),
    "box and points": dict(points=[[0.4, 0.4], [0.45, 0.2]], point_labels=[1, 0], box=[0.15, 0.15, 0.65, 0.75]),
    "mask refinement": dict(points=[[0.3, 0.3], [0.6, 0.6]], point_labels=[1, 0], refine=True),
    "mask only": dict(refine=True),
}


def in_pixels(case: dict, image_hw) -> dict:
    """A case's prompts in pixels of an image of ``image_hw`` (x scales with W, y with H)."""
    height, width = image_hw
    prompts = {}
    if "points" in case:
        prompts["points"] = np.array(case["points"]) * [width, height]
        prompts["point_labels"] = np.array(case["point_labels"])
    if "box" in case:
        prompts["box"] = np.array(case["box"]) * [width, height, width, height]
    return prompts


def official_predict(predictor, prompts: dict, mask_logits=None, multimask=True):
    """The official prediction with its logits, and the object score its decoder computed."""
    scores = []
    hook = predictor.model.sam_mask_decoder.register_forward_hook(lambda module, args, out: scores.append(out[3]))
    try:
        full_logits, iou, low_res = predictor.predict(
            point_coords=prompts.get("points"),
            point_labels=prompts.get("point_labels"),
            box=prompts.get("box"),
            mask_input=None if mask_logits is None else mask_logits[None],
            multimask_output=multimask,
            return_logits=True,
        )
    finally:
        hook.remove()
    return SimpleNamespace(full_logits=full_logits, scores=iou, logits=low_res, object_score=scores[-1].item())


def assert_same_prediction(expected, got) -> None:
    np.testing.assert_allclose(got.logits, expected.logits, atol=LOGIT_ATOL, rtol=0)
    np.testing.assert_allclose(got.scores, expected.scores, atol=SCORE_ATOL, rtol=0)
    assert got.object_score == pytest.approx(expected.object_score, abs=SCORE_ATOL)
    assert got.masks.shape == expected.full_logits.shape and got.masks.dtype == bool
    decided = np.abs(expected.full_logits) > LOGIT_ATOL
    np.testing.assert_array_equal(got.masks[decided], expected.full_logits[decided] > 0)


@pytest.fixture(scope="module")
def model_pairs(tmp_path_factory):
    """version -> (official predictor, our model) on the same small random weights, built once."""
    pairs = {}

    def get(version: str):
        if version not in pairs:
            official = build_official_sam2(version, small=True, seed=3)
            path = tmp_path_factory.mktemp(version) / f"sam{version}_small.pt"
            save_official_checkpoint(official, path)
            pairs[version] = (official_predictor(official), sam_stack.load_model(path, device="cpu"))
        return pairs[version]

    return get


ENCODED = [("v2.1", name) for name in IMAGES] + [("v2", "rgb-480x640")]


@pytest.fixture(scope="module", params=ENCODED, ids=[f"{version}-{name}" for version, name in ENCODED])
def encoded(request, model_pairs):
    """One image set on the official predictor and encoded by ours (tests are grouped by it)."""
    version, image_name = request.param
    predictor, ours = model_pairs(version)
    image = IMAGES[image_name]()
    predictor.set_image(to_uint8_rgb(image))
    return SimpleNamespace(predictor=predictor, ours=ours, encoding=ours.encode_image(image), image_hw=image.shape[:2])


def test_encoding_matches_official(encoded):
    official = encoded.predictor._features
    torch.testing.assert_close(encoded.encoding.features_bchw, official["image_embed"], atol=FEATURE_ATOL, rtol=0)
    for ours, theirs in zip(encoded.encoding.high_res_features, official["high_res_feats"], strict=True):
        torch.testing.assert_close(ours, theirs, atol=FEATURE_ATOL, rtol=0)
    assert encoded.encoding.input_size == (1024, 1024)


@pytest.mark.parametrize("multimask", [True, False], ids=["multimask", "single"])
@pytest.mark.parametrize("case", CASES)
def test_prompts_match_official(encoded, case, multimask):
    prompts = in_pixels(CASES[case], encoded.image_hw)
    mask_logits = None
    if CASES[case].get("refine"):
        # Refine the best of the three masks of a first click, as an interactive user would.
        first = official_predict(encoded.predictor, in_pixels(CASES["one point"], encoded.image_hw))
        mask_logits = first.logits[np.argmax(first.scores)]
    expected = official_predict(encoded.predictor, prompts, mask_logits, multimask)
    got = encoded.ours.predict(encoded.encoding, mask_logits=mask_logits, multimask=multimask, **prompts)
    assert_same_prediction(expected, got)
    assert len(got.scores) == (3 if multimask else 1)


def test_prompts_steer_the_masks(encoded):
    """The random weights must make the prompts matter, or the parity above would prove little."""
    first = encoded.ours.predict(encoded.encoding, **in_pixels(CASES["one point"], encoded.image_hw))
    other = encoded.ours.predict(encoded.encoding, **in_pixels(CASES["box"], encoded.image_hw))
    assert np.abs(first.logits - other.logits).max() > 1000 * LOGIT_ATOL


@pytest.mark.parametrize("multimask", [True, False], ids=["multimask", "single"])
def test_point_batch_matches_the_official_generator_call(encoded, multimask):
    """``decode_point_batch`` against the call SAM2AutomaticMaskGenerator makes for a batch of
    grid points, then its "mask to mask" refinement (clamped logits as mask prompts)."""
    height, width = encoded.image_hw
    grid_b2 = np.array([[0.125, 0.125], [0.375, 0.625], [0.875, 0.375], [0.625, 0.875]]) * [width, height]
    points = encoded.predictor._transforms.transform_coords(
        torch.as_tensor(grid_b2, dtype=torch.float32), normalize=True, orig_hw=encoded.image_hw
    )
    labels = torch.ones(len(points), 1, dtype=torch.int)
    _, iou, low_res = encoded.predictor._predict(points[:, None], labels, multimask_output=multimask, return_logits=True)
    logits_bkhw, iou_bk = encoded.ours.decode_point_batch(encoded.encoding, grid_b2, multimask=multimask)
    torch.testing.assert_close(logits_bkhw.clamp(-32, 32), low_res, atol=LOGIT_ATOL, rtol=0)
    torch.testing.assert_close(iou_bk, iou, atol=SCORE_ATOL, rtol=0)

    prompt_b1hw = low_res[:, :1]
    _, iou, low_res = encoded.predictor._predict(points[:, None], labels, mask_input=prompt_b1hw, multimask_output=False, return_logits=True)
    logits_bkhw, iou_bk = encoded.ours.decode_point_batch(encoded.encoding, grid_b2, multimask=False, mask_logits_b1hw=prompt_b1hw)
    torch.testing.assert_close(logits_bkhw.clamp(-32, 32), low_res, atol=LOGIT_ATOL, rtol=0)
    torch.testing.assert_close(iou_bk, iou, atol=SCORE_ATOL, rtol=0)


def test_upscale_steps_are_one_resize_to_the_image(encoded):
    assert encoded.ours.upscale_steps(encoded.encoding) == [(encoded.image_hw, encoded.image_hw)]


def test_a_batch_encodes_as_one_by_one(small_v21):
    images = [IMAGES["rgb-480x640"](), IMAGES["gray-uint16-300x400"]()]
    small_v21.input_size = 256  # a small input keeps this test fast
    try:
        batch = small_v21.encode_images(images)
        alone = [small_v21.encode_image(image) for image in images]
    finally:
        small_v21.input_size = 1024
    for one, other in zip(batch, alone, strict=True):
        assert (one.image_size, one.input_size) == (other.image_size, other.input_size)
        torch.testing.assert_close(one.features_bchw, other.features_bchw, atol=FEATURE_ATOL, rtol=0)
        for level, other_level in zip(one.high_res_features, other.high_res_features, strict=True):
            torch.testing.assert_close(level, other_level, atol=FEATURE_ATOL, rtol=0)


def test_images_of_their_own_sizes_are_encoded_one_by_one(small_v21):
    images = [random_image((64, 96, 3), seed=10), random_image((100, 40, 3), seed=11)]
    small_v21.input_size = "image"
    try:
        batch = small_v21.encode_images(images)
    finally:
        small_v21.input_size = 1024
    assert [encoding.input_size for encoding in batch] == [(64, 96), (128, 64)]


# ----------------------------------------------------------------- single mask: stability fallback


def single_mask_branch(ours, encoding, prompts) -> str:
    """Whether ``multimask=False`` returned the single-mask candidate or fell back to the best
    multi-mask one."""
    single = ours.predict(encoding, multimask=False, **prompts)
    multi = ours.predict(encoding, multimask=True, **prompts)
    best = multi.logits[np.argmax(multi.scores)]
    return "fallback" if np.array_equal(single.logits[0], best) else "single"


@pytest.mark.parametrize("branch", ["single", "fallback"])
def test_single_mask_choice_matches_official_on_both_branches(tmp_path, branch):
    """These random weights give the single-mask candidate a stability of about 0.974, below the
    official threshold of 0.98, so the best multi-mask candidate is returned instead (as in the
    parity tests above). Scaling that candidate's logits up fivefold narrows the band of
    near-zero logits fivefold and lifts its stability above 0.99, so it is returned itself."""
    official = build_official_sam2("v2.1", small=True, seed=4)
    if branch == "single":
        with torch.no_grad():
            official.sam_mask_decoder.output_hypernetworks_mlps[0].layers[2].weight.mul_(5.0)
    save_official_checkpoint(official, tmp_path / "sam2.1_small.pt")
    ours = sam_stack.load_model(tmp_path / "sam2.1_small.pt", device="cpu")
    predictor = official_predictor(official)
    image = IMAGES["rgb-480x640"]()
    predictor.set_image(image)
    encoding = ours.encode_image(image)
    for case in ("one point", "box and points"):
        prompts = in_pixels(CASES[case], image.shape[:2])
        assert single_mask_branch(ours, encoding, prompts) == branch
        assert_same_prediction(official_predict(predictor, prompts, multimask=False), ours.predict(encoding, multimask=False, **prompts))


def test_stability_score_is_the_iou_of_the_two_thresholded_masks():
    logits = torch.tensor([[[[0.5, 0.02], [-0.02, -0.5]]], [[[-1.0, -1.0], [-1.0, -1.0]]]])
    torch.testing.assert_close(stability_scores(logits, 0.05), torch.tensor([[1 / 3], [1.0]]))


# ------------------------------------------------------------------------------- input size


@pytest.mark.parametrize("version", ["v2", "v2.1"])
def test_input_size_512_matches_official_built_for_512(tmp_path, version):
    """The official model built with ``image_size=512`` (same weights) is what our model does
    with ``input_size = 512``: a 32 x 32 feature grid and 128 x 128 low-res logits, which ours
    returns resized to the 256 x 256 of the public contract."""
    official = build_official_sam2(version, small=True, seed=5, image_size=512)
    save_official_checkpoint(official, tmp_path / "sam2_small.pt")
    ours = sam_stack.load_model(tmp_path / "sam2_small.pt", device="cpu")
    ours.input_size = 512
    predictor = official_predictor(official)
    image = IMAGES["rgb-1000x300"]()
    predictor.set_image(image)
    encoding = ours.encode_image(image)
    assert encoding.input_size == (512, 512) and encoding.features_bchw.shape[-2:] == (32, 32)
    torch.testing.assert_close(encoding.features_bchw, predictor._features["image_embed"], atol=FEATURE_ATOL, rtol=0)
    for case in ("one point", "box and points"):
        for multimask in (True, False):
            prompts = in_pixels(CASES[case], image.shape[:2])
            expected = official_predict(predictor, prompts, multimask=multimask)
            assert expected.logits.shape[-2:] == (128, 128)
            expected.logits = F.interpolate(
                torch.from_numpy(expected.logits)[None], size=(256, 256), mode="bilinear", align_corners=False
            )[0].numpy()
            assert_same_prediction(expected, ours.predict(encoding, multimask=multimask, **prompts))


@pytest.fixture(scope="module")
def small_v21(model_pairs):
    return model_pairs("v2.1")[1]


def test_own_size_input_keeps_the_aspect_ratio(small_v21):
    ours = small_v21
    ours.input_size = "image"
    try:
        image = IMAGES["rgb-1000x300"]()
        encoding = ours.encode_image(image)
        prediction = ours.predict(encoding, **in_pixels(CASES["box and points"], image.shape[:2]))
        refined = ours.predict(encoding, mask_logits=prediction.logits[0], multimask=False)
    finally:
        ours.input_size = 1024
    # Rounded up to multiples of 32: 1000 x 300 -> 1024 x 320, a 64 x 20 feature grid.
    assert encoding.input_size == (1024, 320)
    assert encoding.features_bchw.shape[-2:] == (64, 20)
    assert [level.shape[-2:] for level in encoding.high_res_features] == [(256, 80), (128, 40)]
    assert prediction.masks.shape == (3, 1000, 300) and prediction.logits.shape == (3, 256, 256)
    assert refined.masks.shape == (1, 1000, 300)


def test_own_size_of_a_square_image_is_that_square_size(small_v21):
    ours = small_v21
    image = random_image((512, 512, 3), seed=6)
    prompts = in_pixels(CASES["points with background"], image.shape[:2])
    results = []
    for setting in ("image", 512, (512, 512)):
        ours.input_size = setting
        results.append(ours.predict(ours.encode_image(image), **prompts))
    ours.input_size = 1024
    for other in results[1:]:
        np.testing.assert_array_equal(other.logits, results[0].logits)
        np.testing.assert_array_equal(other.masks, results[0].masks)


def test_an_encoding_keeps_the_input_size_it_was_made_at(small_v21):
    ours = small_v21
    image = IMAGES["rgb-480x640"]()
    ours.input_size = 512
    encoding = ours.encode_image(image)
    ours.input_size = 1024
    prediction = ours.predict(encoding, points=[[100, 100]])
    assert encoding.input_size == (512, 512) and prediction.logits.shape == (3, 256, 256)


@pytest.mark.parametrize("setting", [500, 0, -32, (512, 500), (512,), "auto", 512.0])
def test_an_input_size_the_encoder_cannot_take_is_a_clear_error(small_v21, setting):
    with pytest.raises(ImageError, match="multiple of 32"):
        small_v21.input_size = setting
    assert small_v21.input_size == (1024, 1024)


# ------------------------------------------------------------------------------- bfloat16


def test_bfloat16_encoder_gives_float32_features_and_nearly_the_same_masks(small_v21):
    ours = small_v21
    image = IMAGES["rgb-480x640"]()
    prompts = in_pixels(CASES["box and points"], image.shape[:2])
    ours.input_size = 512  # the option's effect does not depend on the size; 512 is faster
    try:
        reference_encoding = ours.encode_image(image)
        ours.use_bfloat16 = True
        encoding = ours.encode_image(image)
    finally:
        ours.use_bfloat16 = False
        ours.input_size = 1024
    assert encoding.features_bchw.dtype == torch.float32
    assert all(level.dtype == torch.float32 for level in encoding.high_res_features)
    assert not torch.equal(encoding.features_bchw, reference_encoding.features_bchw)
    reference, got = [ours.predict(each, **prompts) for each in (reference_encoding, encoding)]
    overlap = (got.masks & reference.masks).sum() / (got.masks | reference.masks).sum()
    assert overlap > 0.95


# ------------------------------------------------------------------------- the released sizes


@pytest.mark.slow
@pytest.mark.parametrize("size", ["tiny", "small", "base_plus", "large"])
@pytest.mark.parametrize("version", ["v2", "v2.1"])
def test_released_sizes_match_official(tmp_path, version, size):
    official = build_official_sam2(version, size, seed=7)
    save_official_checkpoint(official, tmp_path / "sam2.pt")
    ours = sam_stack.load_model(tmp_path / "sam2.pt", device="cpu")
    assert (ours.version, ours.size) == (version, size)
    predictor = official_predictor(official)
    image = IMAGES["rgb-480x640"]()
    predictor.set_image(image)
    encoding = ours.encode_image(image)
    torch.testing.assert_close(encoding.features_bchw, predictor._features["image_embed"], atol=FEATURE_ATOL, rtol=0)
    for case in ("one point", "box and points"):
        for multimask in (True, False):
            prompts = in_pixels(CASES[case], image.shape[:2])
            expected = official_predict(predictor, prompts, multimask=multimask)
            assert_same_prediction(expected, ours.predict(encoding, multimask=multimask, **prompts))
