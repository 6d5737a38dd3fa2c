"""Parity of the automatic-mask building blocks with the official helpers.

References: ``segment_anything.utils.amg`` (v1) and ``sam2.utils.amg`` (v2), the generators'
``postprocess_small_regions`` and record writing, and, for NMS, torchvision's CPU kernel as
written in C++ (transcribed below, since torchvision itself cannot be imported here).

All of these are exact computations on identical inputs, so every comparison is exact: equal
values, and equal dtypes or Python types wherever the official code fixes them.
"""

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from sam2.utils import amg as official_v2
from segment_anything.utils import amg as official_v1
from sam_stack.tasks.automask import (
    batched_mask_to_box,
    batched_nms,
    box_xyxy_to_xywh,
    build_all_layer_point_grids,
    build_point_grid,
    calculate_stability_score,
    generate_crop_boxes,
    is_box_near_crop_edge,
    mask_record,
    nms,
    postprocess_small_regions,
    remove_small_regions,
    scale_points_to_crop,
    uncrop_boxes_xyxy,
    uncrop_masks,
    uncrop_points,
)

OFFICIAL = [official_v1, official_v2]


def blobby_masks(n: int, height: int, width: int, seed: int, blur: float = 2.0) -> np.ndarray:
    """(n, H, W) bool masks with blobs, holes and specks of many sizes."""
    import cv2

    rng = np.random.default_rng(seed)
    masks = []
    for _ in range(n):
        noise = cv2.GaussianBlur(rng.standard_normal((height, width)), (0, 0), blur)
        masks.append(noise > rng.uniform(-0.05, 0.1))
    return np.stack(masks)


# ---------------------------------------------------------------------------------------------
# Point grids and crops
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("official", OFFICIAL)
def test_point_grids_match_official(official):
    for n in [1, 2, 3, 7, 16, 32, 64]:
        ours, theirs = build_point_grid(n), official.build_point_grid(n)
        assert ours.dtype == theirs.dtype and np.array_equal(ours, theirs)
    for args in [(32, 0, 1), (32, 3, 2), (16, 2, 1), (10, 2, 3), (64, 1, 2)]:
        ours, theirs = build_all_layer_point_grids(*args), official.build_all_layer_point_grids(*args)
        assert len(ours) == len(theirs)
        assert all(np.array_equal(a, b) for a, b in zip(ours, theirs))


IMAGE_SIZES = [(1, 1), (37, 29), (100, 150), (333, 999), (768, 1024), (1024, 1024), (1500, 2000)]


@pytest.mark.parametrize("official", OFFICIAL)
def test_crop_boxes_match_official(official):
    for image_hw in IMAGE_SIZES:
        for n_layers in range(4):
            for overlap_ratio in [512 / 1500, 0.0, 0.25, 0.5]:
                ours = generate_crop_boxes(image_hw, n_layers, overlap_ratio)
                assert ours == official.generate_crop_boxes(image_hw, n_layers, overlap_ratio)


def test_points_scaled_to_crop_like_official():
    grids = build_all_layer_point_grids(16, 2, 2)
    crop_boxes, layers = generate_crop_boxes((333, 999), 2, 512 / 1500)
    for crop_box, layer in zip(crop_boxes, layers):
        x0, y0, x1, y1 = crop_box
        cropped_hw = np.zeros((333, 999))[y0:y1, x0:x1].shape
        theirs = grids[layer] * np.array(cropped_hw)[None, ::-1]  # the official _process_crop
        assert np.array_equal(scale_points_to_crop(grids[layer], crop_box), theirs)


@pytest.mark.parametrize("official", OFFICIAL)
def test_uncrop_helpers_match_official(official):
    rng = torch.Generator().manual_seed(0)
    image_hw = (90, 120)
    crop_boxes, _ = generate_crop_boxes(image_hw, 2, 0.3)
    for crop_box in crop_boxes:
        crop_h, crop_w = crop_box[3] - crop_box[1], crop_box[2] - crop_box[0]
        boxes = torch.randint(0, 60, (7, 4), generator=rng)
        for batch_shape in [(7,), (2, 7)]:
            b = boxes.expand(*batch_shape, 4)
            ours, theirs = uncrop_boxes_xyxy(b, crop_box), official.uncrop_boxes_xyxy(b, crop_box)
            assert ours.dtype == theirs.dtype and torch.equal(ours, theirs)
        for dtype in [torch.float64, torch.float32]:
            points = (torch.rand((2, 5, 2), generator=rng, dtype=torch.float64) * 77.7).to(dtype)
            ours, theirs = uncrop_points(points, crop_box), official.uncrop_points(points, crop_box)
            assert ours.dtype == theirs.dtype and torch.equal(ours, theirs)
        masks = torch.rand((3, crop_h, crop_w), generator=rng) > 0.5
        ours = uncrop_masks(masks, crop_box, image_hw)
        assert torch.equal(ours, official.uncrop_masks(masks, crop_box, *image_hw))
        assert ours.shape == (3, *image_hw)


# ---------------------------------------------------------------------------------------------
# Stability score
# ---------------------------------------------------------------------------------------------


def test_official_v1_and_v2_stability_scores_are_the_same_function():
    logits = torch.randn(6, 40, 50, generator=torch.Generator().manual_seed(1)) * 3
    v1 = official_v1.calculate_stability_score(logits, 0.0, 1.0)
    v2 = official_v2.calculate_stability_score(logits, 0.0, 1.0)
    assert torch.equal(v1, v2)


@pytest.mark.parametrize(("threshold", "offset"), [(0.0, 1.0), (0.5, 0.25), (-1.0, 2.0)])
def test_stability_score_matches_official(threshold, offset):
    rng = torch.Generator().manual_seed(2)
    logits = torch.randn(8, 61, 83, generator=rng) * 4
    logits[0] = -50.0  # nothing above the lower threshold: 0 / 0 = NaN
    logits[1] = 50.0  # everything above both: 1.0
    # Values exactly at the thresholds: the comparisons are strict.
    logits[2, ::2] = threshold + offset
    logits[3, ::3] = threshold - offset
    logits[4, :, ::2] = threshold
    ours = calculate_stability_score(logits, threshold, offset)
    theirs = official_v1.calculate_stability_score(logits, threshold, offset)
    assert ours.dtype == theirs.dtype == torch.float32
    torch.testing.assert_close(ours, theirs, rtol=0, atol=0, equal_nan=True)
    assert torch.isnan(ours[0]) and ours[1] == 1.0
    # Leading dimensions are kept.
    batched = calculate_stability_score(logits.reshape(2, 4, 61, 83), threshold, offset)
    torch.testing.assert_close(batched, ours.reshape(2, 4), rtol=0, atol=0, equal_nan=True)


# ---------------------------------------------------------------------------------------------
# Boxes
# ---------------------------------------------------------------------------------------------


def edge_case_masks(height: int, width: int) -> torch.Tensor:
    """Empty, full, single pixels in each corner, a row, a column, and random specks."""
    masks = torch.zeros(10, height, width, dtype=torch.bool)
    masks[1] = True
    masks[2, 0, 0] = True
    masks[3, -1, -1] = True
    masks[4, 0, -1] = True
    masks[5, -1, 0] = True
    masks[6, height // 2, :] = True
    masks[7, :, width // 3] = True
    masks[8:] = torch.rand(2, height, width, generator=torch.Generator().manual_seed(3)) > 0.995
    return masks


@pytest.mark.parametrize("official", OFFICIAL)
def test_mask_boxes_match_official(official):
    masks = torch.cat([edge_case_masks(45, 70), torch.from_numpy(blobby_masks(4, 45, 70, seed=4))])
    for shaped in [masks, masks.reshape(2, 7, 45, 70), masks[6]]:
        ours, theirs = batched_mask_to_box(shaped), official.batched_mask_to_box(shaped)
        assert ours.dtype == theirs.dtype == torch.int64
        assert torch.equal(ours, theirs)
    assert batched_mask_to_box(masks[0]).tolist() == [0, 0, 0, 0]
    # No elements at all: same zeros (the official ones are float32, ours int64, see docstring).
    empty = torch.zeros(0, 45, 70, dtype=torch.bool)
    assert torch.equal(batched_mask_to_box(empty).float(), official.batched_mask_to_box(empty))


@pytest.mark.parametrize("official", OFFICIAL)
def test_near_crop_edge_matches_official(official):
    rng = np.random.default_rng(5)
    image_hw = (300, 400)
    image_box = [0, 0, image_hw[1], image_hw[0]]
    crop_boxes, _ = generate_crop_boxes(image_hw, 2, 512 / 1500)
    for crop_box in crop_boxes:
        crop_w, crop_h = crop_box[2] - crop_box[0], crop_box[3] - crop_box[1]
        # Each coordinate at 0, 19, 20, 21 pixels from its crop edge, or well inside.
        inset = rng.choice([0, 19, 20, 21, 60], size=(200, 4))
        x0, y0 = inset[:, 0], inset[:, 1]
        x1, y1 = crop_w - 1 - inset[:, 2], crop_h - 1 - inset[:, 3]
        boxes = np.stack([x0, y0, x1, y1], axis=1)
        boxes = torch.from_numpy(np.vstack([boxes, [[0, 0, 0, 0]]]))  # and an empty mask's box
        ours = is_box_near_crop_edge(boxes, crop_box, image_box)
        assert torch.equal(ours, official.is_box_near_crop_edge(boxes, crop_box, image_box))
        assert ours.dtype == torch.bool
        for atol in [0.0, 5.0]:
            theirs = official.is_box_near_crop_edge(boxes, crop_box, image_box, atol=atol)
            assert torch.equal(is_box_near_crop_edge(boxes, crop_box, image_box, atol=atol), theirs)


def test_box_xyxy_to_xywh_matches_official():
    boxes = torch.randint(0, 100, (5, 4), generator=torch.Generator().manual_seed(6))
    for box in boxes:
        assert torch.equal(box_xyxy_to_xywh(box), official_v1.box_xyxy_to_xywh(box))
        assert np.array_equal(box_xyxy_to_xywh(box.numpy()), official_v1.box_xyxy_to_xywh(box.numpy()))
    rows = torch.stack([official_v1.box_xyxy_to_xywh(box) for box in boxes])
    assert torch.equal(box_xyxy_to_xywh(boxes), rows)
    before = boxes.clone()
    box_xyxy_to_xywh(boxes)
    assert torch.equal(boxes, before)  # a new array; the input is untouched


# ---------------------------------------------------------------------------------------------
# Non-maximum suppression
# ---------------------------------------------------------------------------------------------


def torchvision_cpu_nms(boxes: torch.Tensor, scores: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    """torchvision's CPU kernel (torchvision/csrc/ops/cpu/nms_kernel.cpp, >= 0.12), one box pair at
    a time in the boxes' float type; the C++ ``ovr > iou_threshold`` compares float with double."""
    order = scores.sort(stable=True, dim=0, descending=True).indices.tolist()
    x1, y1, x2, y2 = boxes.numpy().T
    areas = (x2 - x1) * (y2 - y1)
    suppressed = [False] * len(order)
    keep = []
    for rank, i in enumerate(order):
        if suppressed[i]:
            continue
        keep.append(i)
        for j in order[rank + 1 :]:
            if suppressed[j]:
                continue
            w = max(x2.dtype.type(0), min(x2[i], x2[j]) - max(x1[i], x1[j]))
            h = max(x2.dtype.type(0), min(y2[i], y2[j]) - max(y1[i], y1[j]))
            inter = w * h
            with np.errstate(invalid="ignore"):
                ovr = inter / (areas[i] + areas[j] - inter)
            if float(ovr) > iou_threshold:
                suppressed[j] = True
    return torch.tensor(keep, dtype=torch.int64)


def torchvision_cpu_batched_nms(boxes, scores, categories, iou_threshold):
    """torchvision.ops.batched_nms on CPU, both of its paths (torchvision/ops/boxes.py)."""
    if boxes.numel() > 4000:
        keep_mask = torch.zeros_like(scores, dtype=torch.bool)
        for category in torch.unique(categories):
            members = torch.where(categories == category)[0]
            keep_mask[members[torchvision_cpu_nms(boxes[members], scores[members], iou_threshold)]] = True
        kept = torch.where(keep_mask)[0]
        return kept[scores[kept].sort(descending=True)[1]]
    if boxes.numel() == 0:
        return torch.empty((0,), dtype=torch.int64)
    offsets = categories.to(boxes) * (boxes.max() + torch.tensor(1).to(boxes))
    return torchvision_cpu_nms(boxes + offsets[:, None], scores, iou_threshold)


def random_boxes(n: int, seed: int, *, integer: bool, span=100, size=40, min_size=0) -> torch.Tensor:
    """(n, 4) XYXY boxes: corners in [0, span), sides in [min_size, size)."""
    rng = torch.Generator().manual_seed(seed)
    corner = torch.rand(n, 2, generator=rng) * span
    extent = min_size + torch.rand(n, 2, generator=rng) * (size - min_size)
    if integer:
        corner, extent = corner.floor(), extent.floor()
    return torch.cat([corner, corner + extent], dim=1)


def nms_cases():
    """(boxes, scores) pairs: float and integer boxes, exact duplicates, empty boxes, tied scores."""
    rng = torch.Generator().manual_seed(7)
    float_boxes = random_boxes(150, seed=8, integer=False)
    int_boxes = random_boxes(150, seed=9, integer=True, span=30, size=20)
    int_boxes[100:110] = int_boxes[:10]  # exact duplicates
    int_boxes[110:115] = 0  # empty masks' boxes, [0, 0, 0, 0]
    int_boxes[115:120] = torch.tensor([3.0, 4.0, 3.0, 4.0])  # zero-area boxes elsewhere
    distinct_scores = torch.rand(150, generator=rng)
    tied_scores = torch.randint(0, 3, (150,), generator=rng).float() / 2
    return [
        (float_boxes, distinct_scores),
        (int_boxes, distinct_scores),
        (int_boxes, tied_scores),
        (float_boxes, torch.ones(150)),
    ]


@pytest.mark.parametrize("iou_threshold", [0.0, 0.3, 0.7, 1.0])
def test_nms_matches_torchvision_kernel(iou_threshold):
    for boxes, scores in nms_cases():
        for dtype in [torch.float32, torch.float64]:
            typed_boxes, typed_scores = boxes.to(dtype), scores.to(dtype)
            theirs = torchvision_cpu_nms(typed_boxes, typed_scores, iou_threshold)
            assert torch.equal(nms(typed_boxes, typed_scores, iou_threshold), theirs)


def test_nms_ties_keep_input_order():
    boxes = torch.tensor([[0.0, 0.0, 10.0, 10.0]] * 4 + [[50.0, 50.0, 60.0, 60.0]] * 3)
    scores = torch.tensor([0.5, 0.9, 0.9, 0.5, 0.5, 0.9, 0.9])
    assert nms(boxes, scores, 0.5).tolist() == [1, 5]
    assert nms(boxes, torch.zeros(7), 0.5).tolist() == [0, 4]


def test_nms_compares_the_threshold_in_double():
    # IoU = float32(1 / 10), which is above 0.1 in double but equal to float32(0.1).
    boxes = torch.tensor([[0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 10.0, 1.0]])
    scores = torch.tensor([1.0, 0.5])
    assert torchvision_cpu_nms(boxes, scores, 0.1).tolist() == [0]
    assert nms(boxes, scores, 0.1).tolist() == [0]


def test_nms_of_nothing():
    assert nms(torch.zeros(0, 4), torch.zeros(0), 0.7).dtype == torch.int64
    assert batched_nms(torch.zeros(0, 4), torch.zeros(0), torch.zeros(0), 0.7).numel() == 0


@pytest.mark.parametrize("iou_threshold", [0.3, 0.7])
def test_batched_nms_few_boxes_matches_torchvision(iou_threshold):
    rng = torch.Generator().manual_seed(10)
    for boxes, scores in nms_cases():
        for n_categories in [1, 3, 40]:
            categories = torch.randint(0, n_categories, (150,), generator=rng)
            ours = batched_nms(boxes, scores, categories, iou_threshold)
            assert torch.equal(ours, torchvision_cpu_batched_nms(boxes, scores, categories, iou_threshold))


def test_batched_nms_many_boxes_takes_torchvisions_per_category_path():
    # 1200 boxes (> 4000 coordinates) with scores tied within groups, like the cross-crop NMS
    # (score 1 / crop area). Boxes are crowded so that few survive and the reference stays quick.
    boxes = random_boxes(1200, seed=11, integer=True, span=30, size=40, min_size=25)
    crop_areas = torch.tensor([1000 * 1000, 600 * 600, 600 * 600, 600 * 600])
    crop_of_box = torch.randint(0, 4, (1200,), generator=torch.Generator().manual_seed(12))
    scores = 1 / crop_areas[crop_of_box]
    for categories in [torch.zeros(1200), crop_of_box % 2]:
        ours = batched_nms(boxes, scores, categories, 0.7)
        assert torch.equal(ours, torchvision_cpu_batched_nms(boxes, scores, categories, 0.7))
    # The same boxes are kept as by one stable NMS; only the order among equal scores may differ.
    single = torchvision_cpu_nms(boxes, scores, 0.7)
    ours = batched_nms(boxes, scores, torch.zeros(1200), 0.7)
    assert sorted(ours.tolist()) == sorted(single.tolist())
    assert torch.equal(scores[ours], scores[single])


# ---------------------------------------------------------------------------------------------
# Small regions
# ---------------------------------------------------------------------------------------------


def region_test_masks() -> list[np.ndarray]:
    special = np.zeros((5, 40, 50), dtype=bool)
    special[1] = True  # full
    special[2, 10, 10] = True  # one pixel
    special[3, 5:8, 5:8] = special[3, 20:22, 30:33] = True  # only small islands (9 and 6 pixels)
    special[4, 5:35, 5:45] = True
    special[4, 10:12, 10:12] = special[4, 20, 20] = False  # small holes
    return list(special) + list(blobby_masks(6, 40, 50, seed=13, blur=1.5))


@pytest.mark.parametrize("official", OFFICIAL)
@pytest.mark.parametrize("mode", ["holes", "islands"])
def test_remove_small_regions_matches_official(official, mode):
    for mask in region_test_masks():
        for area_thresh in [0, 1, 5, 7, 20, 100, 10_000]:
            ours, ours_changed = remove_small_regions(mask, area_thresh, mode)
            theirs, theirs_changed = official.remove_small_regions(mask, area_thresh, mode)
            assert ours_changed == theirs_changed
            assert ours.dtype == theirs.dtype == bool and np.array_equal(ours, theirs)


def test_remove_small_regions_rejects_unknown_mode():
    with pytest.raises(ValueError, match="holes"):
        remove_small_regions(np.zeros((4, 4), dtype=bool), 5, "specks")


def test_postprocess_small_regions_matches_official_v1():
    from segment_anything.automatic_mask_generator import SamAutomaticMaskGenerator

    masks = region_test_masks()
    # A mask that only differs from mask 4 by a small island: after cleaning the two are equal,
    # and the unchanged one must win the NMS.
    with_island = masks[4].copy()
    with_island[37:39, 47:49] = True
    masks.insert(2, with_island)
    masks_n = torch.from_numpy(np.stack(masks))
    boxes_n4 = official_v1.batched_mask_to_box(masks_n)
    boxes_n4[0] = torch.tensor([5, 7, 5, 7])  # the empty mask, as if from a crop at (5, 7)

    for min_area, nms_threshold in [(8, 0.7), (30, 0.7), (30, 0.2)]:
        data = official_v1.MaskData(
            rles=official_v1.mask_to_rle_pytorch(masks_n),
            boxes=boxes_n4.clone(),
            index=torch.arange(len(masks)),
        )
        data.to_numpy()
        theirs = SamAutomaticMaskGenerator.postprocess_small_regions(data, min_area, nms_threshold)

        ours = postprocess_small_regions(iter(masks), boxes_n4, min_area, nms_threshold)
        keep, kept_masks, kept_boxes = ours
        assert keep.tolist() == theirs["index"].tolist()
        assert np.array_equal(kept_boxes.numpy(), theirs["boxes"]) and kept_boxes.dtype == torch.int64
        for ours_mask, rle in zip(kept_masks, theirs["rles"]):
            assert np.array_equal(ours_mask, official_v1.rle_to_mask(rle))


def test_postprocess_small_regions_of_nothing():
    keep, masks, boxes = postprocess_small_regions([], torch.zeros(0, 4, dtype=torch.int64), 10, 0.7)
    assert keep.numel() == 0 and masks == [] and boxes.shape == (0, 4)


# ---------------------------------------------------------------------------------------------
# Output records
# ---------------------------------------------------------------------------------------------


def assert_same_python_values(ours, theirs):
    """Equal, and of the same Python types all the way down (int stays int, float stays float)."""
    assert type(ours) is type(theirs)
    if isinstance(ours, list):
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            assert_same_python_values(a, b)
    else:
        assert ours == theirs


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_mask_records_match_official(version):
    if version == "v1":
        from segment_anything.automatic_mask_generator import SamAutomaticMaskGenerator as Generator

        amg = official_v1
    else:
        from sam2.automatic_mask_generator import SAM2AutomaticMaskGenerator as Generator

        amg = official_v2
    masks_n = torch.from_numpy(blobby_masks(4, 30, 40, seed=14))
    rng = torch.Generator().manual_seed(15)
    point_dtype = torch.float64 if version == "v1" else torch.float32
    data = amg.MaskData(
        rles=amg.mask_to_rle_pytorch(masks_n),
        boxes=amg.batched_mask_to_box(masks_n),
        iou_preds=torch.rand(4, generator=rng),
        points=(torch.rand(4, 2, generator=rng, dtype=torch.float64) * 40).to(point_dtype),
        stability_score=torch.rand(4, generator=rng),
        crop_boxes=torch.tensor([[0, 0, 40, 30], [0, 0, 25, 18], [0, 0, 40, 30], [15, 12, 40, 30]]),
    )
    data.to_numpy()  # what the official _generate_masks returns (v2 casts every tensor to float32)
    generator = object.__new__(Generator)
    generator.min_mask_region_area = 0
    generator.output_mode = "binary_mask"
    generator._generate_masks = lambda image: data
    theirs = generator.generate(np.zeros((30, 40, 3), dtype=np.uint8))

    for i, their_record in enumerate(theirs):
        ours = mask_record(
            masks_n[i].numpy(),
            data["boxes"][i],
            data["iou_preds"][i],
            data["points"][i],
            data["stability_score"][i],
            data["crop_boxes"][i],
        )
        assert ours.keys() == their_record.keys()
        assert np.array_equal(ours.pop("segmentation"), their_record.pop("segmentation"))
        for key in ours:
            assert_same_python_values(ours[key], their_record[key])


# ---------------------------------------------------------------------------------------------
# Filtering order: the predicted-IoU filter commutes with upscaling
# ---------------------------------------------------------------------------------------------


def test_iou_filter_before_upscaling_reproduces_the_official_batch():
    """The official v1 ``_process_batch`` upscales every mask, then filters; we filter on predicted
    IoU first and upscale only the survivors, a few at a time. The candidates must be identical."""
    from segment_anything.automatic_mask_generator import SamAutomaticMaskGenerator

    image_hw, crop_box = (150, 210), [0, 0, 120, 90]  # a crop in the top-left corner
    crop_hw = (90, 120)
    input_hw = (48, 64)  # the crop resized to the model's side (64 here), long side first

    def upscale(low_res_bchw):
        """SAM v1's postprocess_masks with a 64-pixel model: pad size, crop, original size."""
        padded = F.interpolate(low_res_bchw, (64, 64), mode="bilinear", align_corners=False)
        unpadded = padded[..., : input_hw[0], : input_hw[1]]
        return F.interpolate(unpadded, crop_hw, mode="bilinear", align_corners=False)

    # One noisy bump per mask, of random place and width: some stable, some cut by the crop.
    rng = torch.Generator().manual_seed(16)
    centre_n2 = torch.rand(36, 2, generator=rng) * 16
    width_n = torch.rand(36, generator=rng) * 3 + 0.7
    grid_yx = torch.stack(torch.meshgrid(torch.arange(16.0), torch.arange(16.0), indexing="ij"))
    distance_n16x16 = ((grid_yx[None] - centre_n2[:, :, None, None]) ** 2).sum(1)
    bumps = 12 * torch.exp(-distance_n16x16 / (2 * width_n[:, None, None] ** 2)) - 3
    low_res_b3hw = (bumps + 0.3 * torch.randn(36, 16, 16, generator=rng)).reshape(12, 3, 16, 16)
    iou_b3 = torch.rand(12, 3, generator=rng)
    points_b2 = np.random.default_rng(17).uniform(0, 90, size=(12, 2))

    class FakePredictor:
        device = "cpu"
        model = type("Model", (), {"mask_threshold": 0.0})()
        transform = type("Identity", (), {"apply_coords": staticmethod(lambda points, hw: points)})()

        @staticmethod
        def predict_torch(points, labels, multimask_output, return_logits):
            return upscale(low_res_b3hw), iou_b3, low_res_b3hw

    generator = object.__new__(SamAutomaticMaskGenerator)
    generator.predictor = FakePredictor()
    generator.pred_iou_thresh = 0.4
    generator.stability_score_thresh = 0.6
    generator.stability_score_offset = 1.0
    theirs = generator._process_batch(points_b2, crop_hw, crop_box, image_hw)

    # Ours: predicted IoU on the (point, mask) pairs first, then upscale survivors 4 at a time.
    low_res_n1hw = low_res_b3hw.flatten(0, 1)[:, None]
    iou_n = iou_b3.flatten()
    points_n2 = torch.from_numpy(points_b2.repeat(3, axis=0))
    survivors = torch.where(iou_n > 0.4)[0]
    kept, stability, boxes, masks = [], [], [], []
    n_stable = 0
    for chunk in survivors.split(4):
        logits_chw = upscale(low_res_n1hw[chunk])[:, 0]
        score = calculate_stability_score(logits_chw, 0.0, 1.0)
        stable = score >= 0.6
        n_stable += int(stable.sum())
        binary_chw = logits_chw[stable] > 0.0
        box_c4 = batched_mask_to_box(binary_chw)
        inside = ~is_box_near_crop_edge(box_c4, crop_box, [0, 0, image_hw[1], image_hw[0]])
        kept.append(chunk[stable][inside])
        stability.append(score[stable][inside])
        boxes.append(box_c4[inside])
        masks.append(uncrop_masks(binary_chw[inside], crop_box, image_hw))
    kept = torch.cat(kept)

    assert 0 < len(kept) < n_stable < len(survivors) < len(iou_n)  # every filter did something
    assert (torch.cat(stability) < 1).any()
    assert torch.equal(iou_n[kept], theirs["iou_preds"])
    assert torch.equal(points_n2[kept], theirs["points"])
    assert torch.equal(torch.cat(stability), theirs["stability_score"])
    assert torch.equal(torch.cat(boxes), theirs["boxes"])
    their_masks = np.stack([official_v1.rle_to_mask(rle) for rle in theirs["rles"]])
    assert np.array_equal(torch.cat(masks).numpy(), their_masks)
