"""A rectangle of an image encoded on its own ("field of view"), and the mapping between its
pixels and the full image's.

Encoding a region resizes only that rectangle to the model's input, so small objects in it are
seen at full detail; prompts and masks stay in the full image's coordinates.
"""

from dataclasses import dataclass

import numpy as np

from ..errors import ImageError


@dataclass(frozen=True)
class ImageRegion:
    """Pixels x0 <= x < x1, y0 <= y < y1 of a full image of ``full_size`` (H, W)."""

    x0: int
    y0: int
    x1: int
    y1: int
    full_size: tuple[int, int]

    @classmethod
    def within(cls, region, full_size: tuple[int, int]) -> "ImageRegion":
        """(x0, y0, x1, y1) whole pixels, x1 and y1 exclusive, clipped to the image of ``full_size``
        (H, W). Raises :class:`ImageError` if they are not four whole numbers, or if nothing of
        the image is left."""
        height, width = full_size
        bounds = np.asarray(region, dtype=np.float64).reshape(-1)
        if bounds.shape != (4,) or not np.isfinite(bounds).all() or (bounds != np.round(bounds)).any():
            raise ImageError(f"found region {np.asarray(region).tolist()}; expected 4 whole pixel numbers x0, y0, x1, y1")
        x0, y0, x1, y1 = (int(value) for value in bounds)
        clipped = max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)
        if clipped[2] <= clipped[0] or clipped[3] <= clipped[1]:
            raise ImageError(
                f"found region {[x0, y0, x1, y1]}, which leaves no pixel of the {width} x {height} image; "
                f"expected x0 < x1, y0 < y1 and an overlap with 0 <= x < {width}, 0 <= y < {height}"
            )
        return cls(*clipped, full_size=(int(height), int(width)))

    @property
    def bounds(self) -> tuple[int, int, int, int]:
        return self.x0, self.y0, self.x1, self.y1

    @property
    def size(self) -> tuple[int, int]:
        """(h, w) of the region in pixels."""
        return self.y1 - self.y0, self.x1 - self.x0

    def describe(self) -> str:
        height, width = self.full_size
        return f"the encoded region x {self.x0}..{self.x1}, y {self.y0}..{self.y1} of the {width} x {height} image"

    def crop(self, image: np.ndarray) -> np.ndarray:
        """The region of an (H, W, ...) array, C-contiguous."""
        return np.ascontiguousarray(image[self.y0 : self.y1, self.x0 : self.x1])

    def paste(self, masks_khw: np.ndarray) -> np.ndarray:
        """(K, h, w) masks of the region -> (K, H, W) masks of the full image, False outside it."""
        height, width = self.full_size
        full = np.zeros((len(masks_khw), height, width), dtype=masks_khw.dtype)
        full[:, self.y0 : self.y1, self.x0 : self.x1] = masks_khw
        return full
