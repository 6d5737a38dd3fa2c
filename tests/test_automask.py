"""``generate_masks`` against the official automatic mask generators, on the same random weights.

Both sides get the same weights (an official model re-randomised, saved as an official checkpoint
and loaded by ``sam_stack.load_model``), the same image and the same parameters. The results must
be the same masks (matched in order, IoU >= 0.99), with the same scores, boxes, prompt points and
crop boxes, in the same order. Scores may differ by the decoders' float rounding (1e-4 on predicted
IoU, as in the model parity tests); stability scores and pixels are then computed from the same
logits up to that rounding, so they agree to 1e-3 and masks match to the pixel almost everywhere.

Random weights make odd masks, so the parameters are chosen to let some through:
- SAM v1 (2-block ViT), tweaked so that masks follow the image rather than a checkerboard
  (``automask_inputs.v1_weights_that_show_the_image``): logits vary across the image by ~0.01
  around a per-mask level, so the stability offset is 0.002 (official 1.0) with a threshold of
  0.2 (official 0.95); the predicted-IoU threshold is 0.0 (official 0.88), which switches that
  filter off in both generators; box NMS at 0.9 (official 0.7) keeps a few overlapping masks.
- SAM v2 / v2.1 (small Hiera, weights as drawn, 512 x 512 input): the decoder's high-resolution
  skip features make masks of the dark discs on a light background, with large logits, so the
  official stability offset stays (1.0) with a threshold of 0.8 (0.1 after the "mask to mask"
  refinement, whose masks are small); predicted IoU (~0.41 everywhere) is filtered at 0.3.
The discs of the v2 image sit inside the crops of layer 1, away from their inner edges, so masks
from crops pass the crop-edge filter and the NMS between crops has work to do.
"""

import inspect
import warnings

import numpy as np
import pytest
import torch
from torch.nn import functional as F

import sam_stack
from automask_inputs import discs_inside_crops, random_discs, v1_weights_that_show_the_image
from official_v1 import SMALL_VIT, build_official_sam, save_official_checkpoint
from official_v2 import build_official_sam2
from official_v2 import save_official_checkpoint as save_official_v2_checkpoint
from sam_stack.tasks.automask import generate_labels_stack, masks_to_labels
from sam_stack.tasks.automask.mask_window import UpscalePlan, lowres_window, upscale_window
from sam_stack.tasks.automask.settings import resolve_settings

IOU_ATOL = 1e-4
STABILITY_ATOL = 1e-3
MASK_MATCH = 0.99

V1_PARAMETERS = dict(
    points_per_side=8, pred_iou_thresh=0.0, stability_score_thresh=0.2, stability_score_offset=0.002, box_nms_thresh=0.9
)
V2_PARAMETERS = dict(points_per_side=8, pred_iou_thresh=0.3, stability_score_thresh=0.8)
V2_INPUT = 512
CROPS = dict(crop_n_layers=1, crop_n_points_downscale_factor=2)


@pytest.fixture(scope="module")
def v1(tmp_path_factory):
    official = build_official_sam(SMALL_VIT, seed=0)
    v1_weights_that_show_the_image(official)
    path = tmp_path_factory.mktemp("automask") / "sam_small.pth"
    save_official_checkpoint(official, path)
    return official, sam_stack.load_model(path, device="cpu")


V2_PAIRS: dict[str, tuple] = {}


def v2_pair(version: str, tmp_path_factory) -> tuple:
    """(official, ours) for ``version``, built once. Built for a 512 x 512 input (ours:
    ``input_size = 512``), a quarter of the work at 1024; the decoder's low-res logits are then
    128 x 128."""
    if version not in V2_PAIRS:
        official = build_official_sam2(version, "tiny", seed=0, small=True, image_size=V2_INPUT)
        path = tmp_path_factory.mktemp("automask") / f"sam{version}_small.pt"
        save_official_v2_checkpoint(official, path)
        ours = sam_stack.load_model(path, device="cpu")
        ours.input_size = V2_INPUT
        V2_PAIRS[version] = official, ours
    return V2_PAIRS[version]


@pytest.fixture(scope="module", params=["v2", "v2.1"])
def v2(request, tmp_path_factory):
    return v2_pair(request.param, tmp_path_factory)


@pytest.fixture(scope="module")
def v2_1(tmp_path_factory):
    """v2.1 alone, for the paths every v2 version shares (crops, refinement, warnings)."""
    return v2_pair("v2.1", tmp_path_factory)


def official_v1_masks(sam, image, **parameters) -> list[dict]:
    from segment_anything import SamAutomaticMaskGenerator

    return SamAutomaticMaskGenerator(sam, **parameters).generate(image)


def official_v2_masks(sam2, image, **parameters) -> list[dict]:
    from sam2.automatic_mask_generator import SAM2AutomaticMaskGenerator

    generator = SAM2AutomaticMaskGenerator(sam2, **parameters)
    # Its predictor hard-codes the feature sizes of a 1024 input (see official_v2.official_predictor).
    grid = sam2.image_size // sam2.backbone_stride
    generator.predictor._bb_feat_sizes = [(4 * grid, 4 * grid), (2 * grid, 2 * grid), (grid, grid)]
    return generator.generate(image)


def assert_same_records(expected: list[dict], got: list[dict]) -> None:
    assert len(got) == len(expected), f"{len(got)} masks, the official generator made {len(expected)}"
    for index, (theirs, ours) in enumerate(zip(expected, got)):
        where = f"mask {index}"
        assert ours.keys() == theirs.keys()
        union = np.count_nonzero(theirs["segmentation"] | ours["segmentation"])
        overlap = np.count_nonzero(theirs["segmentation"] & ours["segmentation"]) / max(union, 1)
        assert overlap >= MASK_MATCH or union == 0, f"{where}: mask IoU {overlap:.4f}"
        assert ours["segmentation"].dtype == bool and ours["segmentation"].shape == theirs["segmentation"].shape
        assert abs(ours["area"] - theirs["area"]) <= (1 - MASK_MATCH) * max(theirs["area"], 1), where
        assert ours["predicted_iou"] == pytest.approx(theirs["predicted_iou"], abs=IOU_ATOL), where
        assert ours["stability_score"] == pytest.approx(theirs["stability_score"], abs=STABILITY_ATOL, nan_ok=True), where
        assert ours["point_coords"] == theirs["point_coords"], where
        assert ours["crop_box"] == theirs["crop_box"], where
        np.testing.assert_allclose(ours["bbox"], theirs["bbox"], atol=1, err_msg=where)


# ---------------------------------------------------------------------------------------------
# Parity with the official generators
# ---------------------------------------------------------------------------------------------


def test_v1_matches_official(v1):
    official, ours = v1
    image = random_discs(240, 320, seed=0)
    expected = official_v1_masks(official, image, **V1_PARAMETERS)
    got = sam_stack.generate_masks(ours, image, **V1_PARAMETERS)
    assert len(expected) >= 3
    assert_same_records(expected, got)
    # v1 writes ints for boxes and float64 points, as the official generator does.
    assert all(isinstance(value, int) for record in got for value in record["bbox"] + record["crop_box"])


def test_v1_with_crop_layers_matches_official(v1):
    official, ours = v1
    image = random_discs(240, 320, seed=0)
    parameters = dict(V1_PARAMETERS, points_per_side=4, crop_n_layers=1)
    expected = official_v1_masks(official, image, **parameters)
    got = sam_stack.generate_masks(ours, image, **parameters)
    assert sum(record["crop_box"] != [0, 0, 320, 240] for record in expected) >= 3, "too few masks from crops"
    assert_same_records(expected, got)


def test_v1_small_region_removal_matches_official(v1):
    official, ours = v1
    image = random_discs(240, 320, seed=0)
    parameters = dict(V1_PARAMETERS, points_per_side=4, min_mask_region_area=30)
    expected = official_v1_masks(official, image, **parameters)
    got = sam_stack.generate_masks(ours, image, **parameters)
    assert expected
    assert_same_records(expected, got)


def test_v2_matches_official(v2):
    official, ours = v2
    image = discs_inside_crops()
    expected = official_v2_masks(official, image, **V2_PARAMETERS)
    got = sam_stack.generate_masks(ours, image, **V2_PARAMETERS)
    assert expected
    assert_same_records(expected, got)
    # v2 casts every number to float32 before writing records: boxes come out as floats.
    assert all(isinstance(value, float) for record in got for value in record["bbox"] + record["crop_box"])


def test_v2_with_crop_layers_matches_official(v2_1):
    official, ours = v2_1
    image = discs_inside_crops()
    expected = official_v2_masks(official, image, **V2_PARAMETERS, **CROPS)
    got = sam_stack.generate_masks(ours, image, **V2_PARAMETERS, **CROPS)
    assert sum(record["crop_box"] != [0, 0, 320, 240] for record in expected) >= 2, "too few masks from crops"
    assert_same_records(expected, got)


def test_v2_mask_to_mask_refinement_matches_official(v2_1):
    official, ours = v2_1
    image = discs_inside_crops()
    # Refined random-weight masks are small and less stable: threshold 0.1.
    parameters = dict(V2_PARAMETERS, points_per_side=4, stability_score_thresh=0.1, use_m2m=True)
    expected = official_v2_masks(official, image, **parameters)
    got = sam_stack.generate_masks(ours, image, **parameters)
    assert expected
    assert_same_records(expected, got)


def test_v2_ignores_min_mask_region_area_with_a_warning(v2_1):
    _, ours = v2_1
    image = discs_inside_crops()
    with pytest.warns(UserWarning, match="min_mask_region_area is ignored"):
        cleaned = sam_stack.generate_masks(ours, image, **dict(V2_PARAMETERS, points_per_side=2, min_mask_region_area=50))
    plain = sam_stack.generate_masks(ours, image, **dict(V2_PARAMETERS, points_per_side=2))
    assert [r["bbox"] for r in cleaned] == [r["bbox"] for r in plain]


# ---------------------------------------------------------------------------------------------
# Parameters
# ---------------------------------------------------------------------------------------------


def test_defaults_are_the_official_ones():
    from sam2.automatic_mask_generator import SAM2AutomaticMaskGenerator
    from segment_anything import SamAutomaticMaskGenerator

    ours = {name: p.default for name, p in inspect.signature(sam_stack.generate_masks).parameters.items()}
    internal = {name: p.default for name, p in inspect.signature(resolve_settings).parameters.items() if name != "version"}
    assert {name: ours[name] for name in internal} == internal
    for official, version in [(SamAutomaticMaskGenerator, "v1"), (SAM2AutomaticMaskGenerator, "v2.1")]:
        theirs = {name: p.default for name, p in inspect.signature(official.__init__).parameters.items()}
        shared = set(theirs) & set(ours) - {"pred_iou_thresh"}
        assert {name: ours[name] for name in shared} == {name: theirs[name] for name in shared}
        assert resolve_settings(version).pred_iou_thresh == theirs["pred_iou_thresh"]


def test_points_per_side_or_point_grids_not_both():
    with pytest.raises(ValueError, match="exactly one"):
        resolve_settings("v1", points_per_side=8, point_grids=[np.zeros((1, 2))])
    with pytest.raises(ValueError, match="exactly one"):
        resolve_settings("v1", points_per_side=None)
    with pytest.raises(ValueError, match="one \\(N, 2\\) grid per crop layer"):
        resolve_settings("v1", points_per_side=None, point_grids=[np.zeros((4, 2))], crop_n_layers=1)


def test_point_grids_are_the_points_prompted(v1):
    _, ours = v1
    grid = np.array([[0.25, 0.5], [0.75, 0.5]])
    records = sam_stack.generate_masks(
        ours, random_discs(60, 80, seed=1), points_per_side=None, point_grids=[grid], pred_iou_thresh=0.0,
        stability_score_thresh=0.0, box_nms_thresh=1.0,
    )
    assert {tuple(record["point_coords"][0]) for record in records} <= {(20.0, 30.0), (60.0, 30.0)}
    assert len(records) == 6  # no filter at all: three masks per point


# ---------------------------------------------------------------------------------------------
# The model hooks and the windowed upscale
# ---------------------------------------------------------------------------------------------


def test_point_batch_matches_the_official_v1_generator_call(v1):
    from segment_anything import SamPredictor

    official, ours = v1
    image = random_discs(240, 320, seed=0)
    predictor = SamPredictor(official)
    predictor.set_image(image)
    grid_b2 = np.array([[0.125, 0.125], [0.375, 0.625], [0.875, 0.375]]) * [320, 240]
    points = torch.as_tensor(predictor.transform.apply_coords(grid_b2, (240, 320)))  # float64, as the generator
    with torch.no_grad():
        _, iou, low_res = predictor.predict_torch(points[:, None], torch.ones(3, 1, dtype=torch.int), return_logits=True)
    logits_bkhw, iou_bk = ours.decode_point_batch(ours.encode_image(image), grid_b2)
    torch.testing.assert_close(logits_bkhw, low_res, atol=1e-4, rtol=0)
    torch.testing.assert_close(iou_bk, iou, atol=IOU_ATOL, rtol=0)


@pytest.mark.parametrize("image_hw", [(240, 320), (333, 128), (1100, 900)])
def test_upscale_steps_give_upscale_logits(v1, image_hw):
    _, ours = v1
    encoding = ours.encode_image(np.zeros((*image_hw, 3), np.uint8))
    logits_bkhw = torch.randn(1, 2, 256, 256, generator=torch.Generator().manual_seed(0))
    stepped = logits_bkhw
    for size, (kept_h, kept_w) in ours.upscale_steps(encoding):
        stepped = F.interpolate(stepped, size, mode="bilinear", align_corners=False)[..., :kept_h, :kept_w]
    assert torch.equal(stepped, ours.upscale_logits(logits_bkhw, encoding))


def blob_logits(seed: int, lowres: int = 256) -> np.ndarray:
    """(lowres, lowres) float32 logits: a background around -8 with one Gaussian bump up to ~+4."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[:lowres, :lowres]
    centre_r, centre_c = rng.integers(0, lowres, 2)
    width = rng.uniform(3, 40)
    bump = 12 * np.exp(-((rows - centre_r) ** 2 + (cols - centre_c) ** 2) / (2 * width**2))
    return (rng.standard_normal((lowres, lowres)) - 8 + bump).astype(np.float32)


UPSCALES = {
    "v1 landscape": [((1024, 1024), (768, 1024)), ((3000, 4000), (3000, 4000))],
    "v1 crop smaller than the input": [((1024, 1024), (1024, 683)), ((100, 67), (100, 67))],
    "v2": [((333, 500), (333, 500))],
}


@pytest.mark.parametrize("steps", UPSCALES.values(), ids=UPSCALES.keys())
def test_windowed_upscale_is_the_full_upscale_where_the_mask_can_be(steps):
    plan = UpscalePlan.from_steps((256, 256), steps)
    for seed in range(4):
        lowres_hw = blob_logits(seed)
        full = torch.from_numpy(lowres_hw)[None, None]
        for size, (kept_h, kept_w) in steps:
            full = F.interpolate(full, size, mode="bilinear", align_corners=False)[..., :kept_h, :kept_w]
        full_hw = full[0, 0].numpy()
        kept = lowres_window(lowres_hw, plan, -1.0)
        for floor in (-1.0, 0.0, 2.0):
            from_kept = upscale_window(kept[0], plan, floor, origin=kept[1]) if kept else None
            for window in (upscale_window(lowres_hw, plan, floor), from_kept):
                if window is None:
                    assert (full_hw <= floor).all()
                    continue
                height, width = window.logits_hw.shape
                inside = (slice(window.top, window.top + height), slice(window.left, window.left + width))
                # The same values to the last bit or two (torch fuses a multiply-add, see mask_window).
                np.testing.assert_allclose(window.logits_hw, full_hw[inside], rtol=0, atol=4e-6)
                outside = full_hw.copy()
                outside[inside] = -np.inf
                assert (outside <= floor).all()


# ---------------------------------------------------------------------------------------------
# Labels
# ---------------------------------------------------------------------------------------------


def record(mask_hw: np.ndarray) -> dict:
    return {"segmentation": mask_hw, "area": int(mask_hw.sum())}


def test_masks_to_labels_puts_smaller_masks_on_top():
    big, small, same_as_small = (np.zeros((4, 5), bool) for _ in range(3))
    big[:, :4] = True
    small[1:3, 1:3] = True
    same_as_small[2:4, 2:4] = True  # as small as ``small``, later: on top where they overlap
    labels = masks_to_labels([record(small), record(big), record(same_as_small)])
    assert labels.dtype == np.uint32
    np.testing.assert_array_equal(
        labels,
        [
            [2, 2, 2, 2, 0],
            [2, 1, 1, 2, 0],
            [2, 1, 3, 3, 0],
            [2, 2, 3, 3, 0],
        ],
    )
    assert masks_to_labels(iter([record(small)]), first_label=7).max() == 7


def test_masks_to_labels_of_no_masks_needs_the_size():
    assert masks_to_labels([], image_hw=(3, 4)).shape == (3, 4)
    with pytest.raises(ValueError, match="image_hw"):
        masks_to_labels([])


def test_stack_labels_are_unique_across_slices(monkeypatch):
    """Slice t's labels start after those given out on earlier slices; slices are read one by one."""
    frames = np.zeros((3, 4, 5), np.uint8)
    frames[:, 0, 0] = [2, 1, 0]  # the number of masks the stand-in generator makes per slice
    read = []

    class Frames:
        def __len__(self):
            return len(frames)

        def __getitem__(self, t):
            read.append(t)
            return frames[t]

    def fake_iter_masks(model, image, **parameters):
        for i in range(image[0, 0]):
            mask = np.zeros(image.shape[:2], bool)
            mask[i, :] = True
            yield record(mask)

    monkeypatch.setattr("sam_stack.tasks.automask.labels.iter_masks", fake_iter_masks)
    labels = generate_labels_stack(None, Frames())
    assert read == [0, 1, 2]
    assert labels.shape == (3, 4, 5) and labels.dtype == np.uint32
    assert [sorted(set(np.unique(labels[t])) - {0}) for t in range(3)] == [[1, 2], [3], []]


def test_stack_labels_of_a_real_stack(v1):
    _, ours = v1
    frames = np.stack([random_discs(60, 80, seed=1), random_discs(60, 80, seed=2)])
    parameters = dict(V1_PARAMETERS, points_per_side=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        labels = generate_labels_stack(ours, frames, **parameters)
    first = masks_to_labels(sam_stack.generate_masks(ours, frames[0], **parameters), image_hw=(60, 80))
    np.testing.assert_array_equal(labels[0], first)
    assert labels[1][labels[1] > 0].min(initial=np.iinfo(np.uint32).max) > first.max()
