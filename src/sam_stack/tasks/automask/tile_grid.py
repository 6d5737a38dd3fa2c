"""Overlapping square tiles over an image, in raster order, for segmenting it tile by tile."""

from dataclasses import dataclass

import numpy as np

from ...errors import SamStackError


@dataclass(frozen=True)
class Tile:
    """One tile: rows [top, bottom) and columns [left, right) of the image (pixels).

    covered_below_row, covered_before_col: the tiles before this one in raster order cover, inside
    it, the rows above ``covered_below_row`` (the row of tiles above ends there) and the columns
    left of ``covered_before_col`` (the tile to the left ends there); each equals top / left when
    no tile lies on that side.
    """

    top: int
    left: int
    bottom: int
    right: int
    covered_below_row: int
    covered_before_col: int

    @property
    def hw(self) -> tuple[int, int]:
        return self.bottom - self.top, self.right - self.left

    @property
    def slices(self) -> tuple[slice, slice]:
        return slice(self.top, self.bottom), slice(self.left, self.right)

    @property
    def box_xyxy(self) -> list[int]:
        """The tile as an XYXY box in the image, x1 and y1 exclusive (a crop box)."""
        return [self.left, self.top, self.right, self.bottom]

    def covered_hw(self) -> np.ndarray:
        """(h, w) bool: the pixels of this tile that earlier tiles also cover."""
        height, width = self.hw
        rows_h1 = np.arange(height)[:, None] < self.covered_below_row - self.top
        cols_1w = np.arange(width)[None, :] < self.covered_before_col - self.left
        return rows_h1 | cols_1w


def tile_grid(image_hw: tuple[int, int], tile_size: int, overlap: int) -> list[Tile]:
    """Tiles of ``tile_size`` x ``tile_size`` pixels (less where the image is smaller) covering an
    (H, W) image, neighbours sharing at least ``overlap`` rows or columns; the last tile of each
    row and column is moved back to end at the image's edge. Raster order: row by row."""
    if not (isinstance(tile_size, (int, np.integer)) and isinstance(overlap, (int, np.integer))):
        raise SamStackError(f"found tile_size={tile_size!r} and overlap={overlap!r}; expected whole numbers of pixels")
    if overlap < 0 or tile_size <= overlap:
        raise SamStackError(
            f"found tile_size={tile_size} and overlap={overlap}; expected 0 <= overlap < tile_size, so that tiles advance"
        )
    row_starts = _axis_starts(image_hw[0], tile_size, overlap)
    col_starts = _axis_starts(image_hw[1], tile_size, overlap)
    tiles = []
    for i, top in enumerate(row_starts):
        bottom = min(top + tile_size, image_hw[0])
        above_ends = min(row_starts[i - 1] + tile_size, image_hw[0]) if i else top
        for j, left in enumerate(col_starts):
            right = min(left + tile_size, image_hw[1])
            left_ends = min(col_starts[j - 1] + tile_size, image_hw[1]) if j else left
            tiles.append(Tile(top, left, bottom, right, above_ends, left_ends))
    return tiles


def _axis_starts(size: int, tile_size: int, overlap: int) -> list[int]:
    """First pixels of the tiles along one axis of ``size`` pixels."""
    if size <= tile_size:
        return [0]
    starts = list(range(0, size - tile_size, tile_size - overlap))
    return [*starts, size - tile_size]
