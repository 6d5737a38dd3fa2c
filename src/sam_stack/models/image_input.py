"""Turning any 2-D or RGB array into the 8-bit RGB image that SAM was trained on.

The official predictors take uint8 RGB only. We accept (H, W) or (H, W, 3) arrays of any
numeric dtype and map them to uint8 the way a viewer's auto-contrast would:
- uint8 is used as it is;
- bool becomes 0 and 255;
- anything else (uint16, int, float) is stretched linearly from its own [min, max] to [0, 255]
  and rounded; a constant image becomes all zeros.
Grayscale is repeated into three channels. Images that cannot be read this way raise
:class:`~sam_stack.errors.ImageError` saying what was found.
"""

import numpy as np

from ..errors import ImageError


def to_uint8_rgb(image) -> np.ndarray:
    """(H, W) or (H, W, 3) array-like of any numeric dtype -> (H, W, 3) uint8, C-contiguous."""
    array = np.asarray(image)
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] != 3):
        expected = "an (H, W) grayscale or (H, W, 3) RGB array"
        if array.ndim == 3 and array.shape[2] == 4:
            raise ImageError(f"found an image of shape {array.shape} with 4 channels (RGBA?); expected {expected}: drop the alpha channel")
        raise ImageError(f"found an array of shape {array.shape}; expected {expected}")
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise ImageError(f"found an empty image of shape {array.shape}; expected at least 1 x 1 pixels")
    if array.dtype == np.uint8:
        scaled = array
    elif array.dtype == np.bool_:
        scaled = array.astype(np.uint8) * 255
    elif np.issubdtype(array.dtype, np.number) and not np.issubdtype(array.dtype, np.complexfloating):
        scaled = _stretch_to_uint8(array)
    else:
        raise ImageError(f"found an image of dtype {array.dtype}; expected a real numeric or bool dtype")
    if scaled.ndim == 2:
        scaled = np.repeat(scaled[:, :, None], 3, axis=2)
    return np.ascontiguousarray(scaled)


def _stretch_to_uint8(array: np.ndarray) -> np.ndarray:
    values = array.astype(np.float64)
    if not np.isfinite(values).all():
        bad = int((~np.isfinite(values)).sum())
        raise ImageError(f"found {bad} NaN or infinite pixel value(s); expected finite values only")
    low, high = values.min(), values.max()
    if high == low:
        return np.zeros(array.shape, dtype=np.uint8)
    return np.round((values - low) * (255.0 / (high - low))).astype(np.uint8)
