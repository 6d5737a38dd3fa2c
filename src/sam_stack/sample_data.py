"""A small synthetic time-lapse of moving cells, made on the fly, to try the plugin on.

Bright elliptical cells with soft edges drift across a dim, noisy background, as in a
fluorescence time-lapse: enough to click on, segment everything, and propagate through time.
"""

import numpy as np

CELL_COUNT = 7


def moving_cells(frames: int = 8, size: int = 128, seed: int = 0) -> np.ndarray:
    """(frames, size, size) uint16: camera-like background (offset 100, noise) and cells of
    brightness 600 to 1500 that move a few pixels per frame and bounce off the borders."""
    rng = np.random.default_rng(seed)
    radii = rng.uniform(0.05, 0.09, (CELL_COUNT, 2)) * size  # semi-axes (rows, cols)
    angles = rng.uniform(0, np.pi, CELL_COUNT)
    brightness = rng.uniform(600, 1500, CELL_COUNT)
    # Start apart, in the cells of a 3 x 3 grid, so that most cells are separate objects.
    grid_cells = rng.choice(9, CELL_COUNT, replace=False)
    grid_positions = np.stack([grid_cells // 3, grid_cells % 3], axis=1) + 0.5
    centres = (grid_positions + rng.uniform(-0.15, 0.15, (CELL_COUNT, 2))) * size / 3
    velocities = rng.uniform(-0.015, 0.015, (CELL_COUNT, 2)) * size
    rows, cols = np.mgrid[0:size, 0:size].astype(np.float64)

    movie = np.empty((frames, size, size), dtype=np.uint16)
    for frame in range(frames):
        cells = np.zeros((size, size))
        for cell in range(CELL_COUNT):
            # The brighter cell shows where two touch, as a cell on top of another would.
            cell_image = brightness[cell] * _soft_ellipse(rows, cols, centres[cell], radii[cell], angles[cell])
            cells = np.maximum(cells, cell_image)
        image = 100.0 + cells + rng.normal(0, 12, (size, size))
        movie[frame] = np.clip(np.round(image), 0, np.iinfo(np.uint16).max)
        centres += velocities
        bounced = (centres < radii) | (centres > size - radii)
        velocities[bounced] *= -1
    return movie


def _soft_ellipse(rows, cols, centre, radii, angle) -> np.ndarray:
    """1 inside the ellipse, falling smoothly to 0 over about a pixel at its border."""
    d_row, d_col = rows - centre[0], cols - centre[1]
    along = d_row * np.cos(angle) + d_col * np.sin(angle)
    across = -d_row * np.sin(angle) + d_col * np.cos(angle)
    distance = np.sqrt((along / radii[0]) ** 2 + (across / radii[1]) ** 2)
    return 1.0 / (1.0 + np.exp((distance - 1.0) * min(radii) * 1.5))


def moving_cells_layers() -> list[tuple]:
    """The napari sample-data contribution: one image layer (as napari's layer-data tuples)."""
    movie = moving_cells()
    return [(movie, {"name": "moving cells", "axis_labels": ("t", "y", "x"), "contrast_limits": (80, 1700)}, "image")]
