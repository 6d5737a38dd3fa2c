"""Images and random-weight tweaks that make the automatic mask generators' masks follow an image.

Shared by the automatic-mask tests and ``benchmarks/compare_automask.py``; ``separate_discs`` and
``true_discs_of_tile`` serve the tiled generator's tests, as its truth and a perfect model.
"""

import cv2
import numpy as np
import torch


def random_discs(height: int, width: int, seed: int, count: int = 12) -> np.ndarray:
    """``count`` discs of random colours, sizes and places on a dark background, uint8 RGB."""
    rng = np.random.default_rng(seed)
    image = np.full((height, width, 3), 30, np.uint8)
    for _ in range(count):
        colour = tuple(int(v) for v in rng.integers(60, 256, 3))
        centre = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        cv2.circle(image, centre, int(rng.integers(max(2, height // 30), max(3, height // 6))), colour, -1)
    return image


def discs_inside_crops() -> np.ndarray:
    """240 x 320 light image with five dark discs, each wholly inside at least one crop of layer 1
    (x0 in {0, 120}, y0 in {0, 80}, 201 x 161) and over 20 pixels from its inner edges."""
    image = np.full((240, 320, 3), 225, np.uint8)
    for x, y, radius, colour in [
        (160, 120, 15, (20, 40, 90)),
        (50, 40, 18, (90, 20, 20)),
        (270, 45, 22, (30, 80, 30)),
        (60, 195, 25, (60, 60, 10)),
        (265, 190, 16, (10, 10, 10)),
    ]:
        cv2.circle(image, (x, y), radius, colour, -1)
    return image


def v1_weights_that_show_the_image(sam) -> None:
    """Tweaks a random-weight official ``Sam`` so that its masks follow the image.

    With independent random kernels, the two transposed convolutions of the decoder's upscaling
    path paint a 2-pixel checkerboard over every mask, which hides the image; each gets one kernel
    shared by its 2 x 2 positions. The biases of the image encoder and of that path are zeroed, so
    that features differ with the image more than they share a constant part.
    """
    with torch.no_grad():
        for index in (0, 3):
            conv = sam.mask_decoder.output_upscaling[index]
            conv.weight.copy_(conv.weight[:, :, :1, :1].expand_as(conv.weight))
        for name, parameter in sam.named_parameters():
            if name.endswith("bias") and name.startswith(("image_encoder", "mask_decoder.output_upscaling")):
                parameter.zero_()


def separate_discs(height: int, width: int, radii: list[int], seed: int, inside: bool = False) -> np.ndarray:
    """(H, W) int32 truth: discs numbered 1.. at random places, at least 3 pixels apart (and from
    the image's edges if ``inside``), placed in the order given (largest first finds room best)."""
    rng = np.random.default_rng(seed)
    truth = np.zeros((height, width), np.int32)
    for number, radius in enumerate(radii, start=1):
        margin = radius + 3 if inside else 0
        for _ in range(1000):
            centre = (int(rng.integers(margin, width - margin)), int(rng.integers(margin, height - margin)))
            disc = np.zeros_like(truth, np.uint8)
            cv2.circle(disc, centre, radius + 3, 1, -1)
            if not truth[disc > 0].any():
                cv2.circle(truth, centre, radius, number, -1)
                break
        else:
            raise AssertionError(f"found no room for disc {number} of radius {radius}")
    return truth


def discs_image(truth_hw: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8: the discs of a truth image grey on black."""
    return np.where(truth_hw[..., None] > 0, 200, 0).astype(np.uint8).repeat(3, axis=2)


def record_of_mask(mask_hw: np.ndarray) -> dict:
    """The fields of a generator's record that label images are painted from."""
    rows, cols = np.nonzero(mask_hw)
    x0, y0, x1, y1 = cols.min(), rows.min(), cols.max(), rows.max()
    return {"segmentation": mask_hw, "area": int(mask_hw.sum()), "bbox": [int(x0), int(y0), int(x1 - x0), int(y1 - y0)]}


def true_discs_of_tile(model, rgb_hw3, **parameters):
    """Stand-in for ``iter_masks``: one record per connected bright region of the tile."""
    count, components_hw = cv2.connectedComponents((rgb_hw3[..., 0] > 0).astype(np.uint8), connectivity=8)
    for number in range(1, count):
        yield record_of_mask(components_hw == number)
