"""Automatic masks of images far larger than the model's input: ``generate_labels_tiled``.

The generator sees a whole image at the model's input size (1024 pixels on its longer side), so
on a 10000 x 10000 image an object 50 pixels across shrinks to 5. Here the image is cut into
overlapping tiles (``tile_grid``), each tile is segmented at its own resolution by ``iter_masks``,
and the tiles' masks are merged across the seams into one label image (``seams`` gives the rule:
an object in the overlap of two tiles gets one label, taken from the tile it lies inside, and an
object larger than the overlap is joined from its pieces). Memory holds the label image (or none,
when writing into ``out``), one tile's pixels and one tile's masks.
"""

import numpy as np
import torch
from tqdm.auto import tqdm

from ...errors import ImageError
from ...models.image_input import to_uint8_rgb
from .boxes import is_box_near_crop_edge
from .generate import iter_masks
from .labels import masks_to_labels
from .seams import SeamMerger
from .tile_grid import Tile, tile_grid

# A mask whose box comes this close (pixels) to an inner edge of its tile counts as cut by it:
# the tolerance of the official generator's crop-edge filter, which asks the same question.
EDGE_MARGIN = 20.0


def generate_labels_tiled(
    model,
    image,
    tile_size: int = 1024,
    overlap: int = 256,
    out=None,
    merge_threshold: float = 0.5,
    progress: bool = False,
    **parameters,
) -> np.ndarray:
    """(H, W) uint32 label image of everything in a large image, segmented tile by tile.

    image: (H, W) or (H, W, 3) array-like of any numeric dtype, read one tile at a time (numpy,
        memmap, zarr, dask). Values other than uint8 and bool are stretched to 0-255 from the
        whole image's [min, max] (read once beforehand, tile by tile), not each tile's.
    tile_size, overlap: tiles of tile_size x tile_size pixels, neighbours sharing at least
        ``overlap`` pixels. Objects up to ``overlap - 40`` pixels across come whole from the tile
        they lie inside; larger ones are joined from their pieces (see ``seams``).
    out: optional (H, W) array-like to write into (e.g. a zarr array); it is cleared first.
    merge_threshold: how much of a mask's or a label's pixels in the overlap band must agree with
        the other for the two to be one object (0.5 to 1, exclusive; see ``seams`` for the rules).
    parameters: those of ``generate_masks``, for every tile.

    Returns ``out`` or a new uint32 array: 0 is background; numbers are unique per object but not
    consecutive (each tile reserves one per mask). An image of one tile gets exactly
    ``masks_to_labels(iter_masks(model, image, **parameters))``.
    """
    if not hasattr(image, "shape"):
        image = np.asarray(image)
    image_hw = _image_hw(image)
    tiles = tile_grid(image_hw, tile_size, overlap)
    if out is None:
        labels = np.zeros(image_hw, np.uint32)
    else:
        if tuple(out.shape) != image_hw:
            raise ImageError(f"found an output array of shape {tuple(out.shape)}; expected the image's {image_hw}")
        labels = out
    merger = SeamMerger(labels, merge_threshold)
    if out is not None:
        labels[...] = 0
    value_range = _value_range(image, tiles)
    image_box = [0, 0, image_hw[1], image_hw[0]]
    for tile in tqdm(tiles, desc="tiles", unit="tile", disable=not progress):
        rgb_hw3 = _tile_rgb(image, tile, value_range)
        boxes = []
        local_hw = masks_to_labels(_noting_boxes(iter_masks(model, rgb_hw3, **parameters), boxes), image_hw=tile.hw)
        boxes_n4 = np.array(boxes, np.int64).reshape(-1, 4)
        is_cut_n = is_box_near_crop_edge(torch.from_numpy(boxes_n4), tile.box_xyxy, image_box, EDGE_MARGIN).numpy()
        merger.add_tile(tile, local_hw, is_cut_n, boxes_n4)
    return labels


def _image_hw(image) -> tuple[int, int]:
    shape = tuple(image.shape)
    if len(shape) not in (2, 3) or (len(shape) == 3 and shape[2] != 3):
        raise ImageError(f"found an image of shape {shape}; expected an (H, W) grayscale or (H, W, 3) RGB array")
    if shape[0] == 0 or shape[1] == 0:
        raise ImageError(f"found an empty image of shape {shape}; expected at least 1 x 1 pixels")
    return shape[0], shape[1]


def _value_range(image, tiles: list[Tile]) -> tuple[float, float] | None:
    """The image's [min, max], read tile by tile; None for uint8 and bool, used as they are."""
    if np.dtype(image.dtype) in (np.uint8, np.bool_):
        return None
    low, high = np.inf, -np.inf
    for tile in tiles:
        pixels = np.asarray(image[tile.slices])
        if not np.isfinite(pixels).all():
            raise ImageError(
                f"found NaN or infinite pixel values in the tile at row {tile.top}, column {tile.left}; expected finite values only"
            )
        low, high = min(low, float(pixels.min())), max(high, float(pixels.max()))
    return low, high


def _tile_rgb(image, tile: Tile, value_range: tuple[float, float] | None) -> np.ndarray:
    """The tile's pixels as (h, w, 3) uint8, stretched by the whole image's value range."""
    pixels = np.asarray(image[tile.slices])
    if value_range is not None:
        low, high = value_range
        scale = 255.0 / (high - low) if high > low else 0.0
        pixels = np.round((pixels.astype(np.float64) - low) * scale).astype(np.uint8)
    return to_uint8_rgb(pixels)


def _noting_boxes(records, boxes: list):
    """Passes records on, appending each one's mask box (XYXY inclusive, ints) to ``boxes``."""
    for record in records:
        x, y, w, h = record["bbox"]
        boxes.append([round(x), round(y), round(x + w), round(y + h)])
        yield record
