"""The point prompts of the automatic mask generator: regular grids in normalised coordinates.

Each crop layer gets its own grid; deeper layers may use fewer points per side. A grid is scaled
to a crop's pixel size just before it is fed to the model.
"""

import numpy as np


def build_point_grid(n_per_side: int) -> np.ndarray:
    """The centres of an ``n_per_side`` x ``n_per_side`` tiling of the unit square.

    Returns (n_per_side**2, 2) float64 (x, y) in [0, 1], row by row: x varies fastest, y slowest,
    which is the order the official generator prompts in (and so the order of its candidates).
    """
    half_cell = 1 / (2 * n_per_side)
    # np.linspace, as the official code uses, so that every coordinate is the same float.
    centres = np.linspace(half_cell, 1 - half_cell, n_per_side)
    x_grid, y_grid = np.meshgrid(centres, centres)
    return np.stack([x_grid, y_grid], axis=-1).reshape(-1, 2)


def build_all_layer_point_grids(n_per_side: int, n_layers: int, scale_per_layer: int) -> list[np.ndarray]:
    """One grid per crop layer, layer 0 (the whole image) first: ``n_layers + 1`` grids.

    Layer i has ``int(n_per_side / scale_per_layer**i)`` points per side (float division, then
    truncation, as in the official code).
    """
    return [build_point_grid(int(n_per_side / (scale_per_layer**layer))) for layer in range(n_layers + 1)]


def scale_points_to_crop(grid_n2: np.ndarray, crop_box: list[int]) -> np.ndarray:
    """A normalised grid (N, 2) -> (N, 2) float64 pixel coordinates (x, y) inside the crop.

    The coordinates are relative to the crop's top-left corner; ``uncrop_points`` moves them into
    the image frame.
    """
    x0, y0, x1, y1 = crop_box
    return grid_n2 * np.array([[x1 - x0, y1 - y0]])
