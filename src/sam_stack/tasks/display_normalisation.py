"""What a viewer shows, as the 8-bit image the model eats.

A viewer maps pixel values through contrast limits (low -> black, high -> white, linear in
between, then a gamma curve). Segmenting that same mapping, rather than the raw values, means
the model sees what the user sees: a dim cell made visible by tight limits is visible to SAM too.
"""

import numpy as np

from ..errors import ImageError


def to_display_uint8(values, contrast_limits, gamma: float = 1.0) -> np.ndarray:
    """Any real or bool array -> uint8 of the same shape, as a viewer displays it.

    ``contrast_limits`` is (low, high): values at or below low become 0, at or above high 255.
    With low == high (a constant image's limits) values above the limit are 255, others 0.
    NaN becomes 0.
    """
    low, high = (float(limit) for limit in contrast_limits)
    data = np.asarray(values, dtype=np.float64)
    if high > low:
        scaled = np.clip((data - low) / (high - low), 0.0, 1.0)
    else:
        scaled = (data > low).astype(np.float64)
    scaled = np.nan_to_num(scaled, nan=0.0)
    if gamma != 1.0:
        scaled = scaled**gamma
    return np.round(scaled * 255.0).astype(np.uint8)


def channels_to_rgb(channels_chw) -> np.ndarray:
    """(C, H, W) uint8 channels -> what SAM takes: (H, W) for one channel, else (H, W, 3).

    The first three channels become red, green and blue; with two, blue stays black.
    Channels after the third are left out: SAM reads three.
    """
    channels = np.asarray(channels_chw)
    if channels.ndim != 3 or channels.shape[0] == 0:
        raise ImageError(f"found channels of shape {channels.shape}; expected (C, H, W) with C >= 1")
    if channels.shape[0] == 1:
        return channels[0]
    rgb = np.zeros(channels.shape[1:] + (3,), dtype=channels.dtype)
    used = min(channels.shape[0], 3)
    rgb[..., :used] = np.moveaxis(channels[:used], 0, -1)
    return rgb
