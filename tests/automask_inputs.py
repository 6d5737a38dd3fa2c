"""Images and random-weight tweaks that make the automatic mask generators' masks follow an image.

Shared by ``test_automask.py`` and ``benchmarks/compare_automask.py``.
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
