"""Which part of a plane the model encodes: the whole plane, or, when the user has zoomed into a
large plane, only the part in view ("field of view"), so that small objects there are seen at the
model's full resolution rather than shrunk with the whole plane to 1024 pixels.

The rule: a plane larger than ``LARGE_PLANE_SIDE`` on its longer side is encoded as the region
that holds what the canvas shows and every prompt, widened by ``MARGIN`` of its size on each side
and clipped to the plane, if that region's longer side is at most half the plane's longer side
(at least twice the detail); otherwise the whole plane is encoded. Smaller planes are always
encoded whole: the model already sees them at full resolution or better.
"""

import numpy as np

LARGE_PLANE_SIDE = 1024
"""The model's input side: a plane no longer than this loses no detail when encoded whole."""

MARGIN = 0.1
"""Fraction of the region's width (height) added on the left and right (top and bottom)."""


def visible_extent(layer) -> tuple[int, int, int, int] | None:
    """(x0, y0, x1, y1) full-resolution pixels of the layer's last two axes that the canvas shows
    (x1, y1 exclusive), or None before the layer was first drawn.

    napari maps the canvas corners through the layer's world-to-data transform into
    ``corner_pixels`` on each draw, in pixels of the resolution level shown.
    """
    corners = np.asarray(layer.corner_pixels)[:, -2:]
    if not (corners[1] > corners[0]).all():
        return None  # napari sets both corners to 0 until the layer is drawn
    factors = np.asarray(layer.downsample_factors[layer.data_level])[-2:] if layer.multiscale else np.ones(2)
    (row0, col0), (row1, col1) = np.floor(corners[0] * factors), np.ceil((corners[1] + 1) * factors)
    return int(col0), int(row0), int(col1), int(row1)


def region_to_encode(plane_shape, visible, prompts) -> tuple[int, int, int, int] | None:
    """The (x0, y0, x1, y1) region of a plane of ``plane_shape`` (H, W) to encode, or None for the
    whole plane, by the rule in the module doc; ``visible`` as ``visible_extent`` gives it,
    ``prompts`` the plane's ``PlanePrompts``."""
    height, width = plane_shape
    if visible is None or max(height, width) <= LARGE_PLANE_SIDE:
        return None
    x0, y0, x1, y1 = _union(visible, _prompts_extent(prompts))
    margin_x, margin_y = int(np.ceil(MARGIN * (x1 - x0))), int(np.ceil(MARGIN * (y1 - y0)))
    x0, y0 = max(x0 - margin_x, 0), max(y0 - margin_y, 0)
    x1, y1 = min(x1 + margin_x, width), min(y1 + margin_y, height)
    if 2 * max(x1 - x0, y1 - y0) > max(height, width):
        return None
    return x0, y0, x1, y1


def _prompts_extent(prompts) -> tuple[int, int, int, int] | None:
    """The pixels (x0, y0, x1, y1) that hold every point, the box and the mask prompt, or None."""
    xy = []
    if prompts.points_xy is not None:
        xy.append(prompts.points_xy)
    if prompts.box is not None:
        xy.append(np.reshape(prompts.box, (2, 2)))
    if prompts.mask is not None and prompts.mask.any():
        rows, cols = np.nonzero(prompts.mask)
        xy.append([[cols.min(), rows.min()], [cols.max(), rows.max()]])
    if not xy:
        return None
    corners = np.concatenate([np.asarray(part, dtype=np.float64) for part in xy])
    (x0, y0), (x1, y1) = np.floor(corners.min(axis=0)), np.floor(corners.max(axis=0)) + 1
    return int(x0), int(y0), int(x1), int(y1)


def _union(first, second):
    if second is None:
        return first
    return min(first[0], second[0]), min(first[1], second[1]), max(first[2], second[2]), max(first[3], second[3])
