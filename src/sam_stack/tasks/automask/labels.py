"""From mask records to one label image, for an image or a stack of them.

Masks overlap; in a label image each pixel gets one label: that of the smallest mask covering it
(small masks are usually parts lying on bigger ones), the later record among masks of equal area.
"""

from collections.abc import Iterable

import numpy as np
from tqdm.auto import tqdm

from .generate import iter_masks


def masks_to_labels(records: Iterable[dict], image_hw: tuple[int, int] | None = None, first_label: int = 1) -> np.ndarray:
    """(H, W) uint32 label image of mask records: 0 is background, ``first_label + i`` is
    records[i]. A mask wholly covered by smaller ones does not appear.

    records: dicts with "segmentation" ((H, W) bool) and "area", as ``generate_masks`` returns,
    or any iterable of them (read once, one mask at a time, e.g. ``iter_masks``).
    image_hw: (H, W), needed only when there may be no records.
    """
    labels_hw, _ = _paint(records, image_hw, first_label)
    return labels_hw


def generate_labels_stack(model, frames, out=None, progress: bool = False, **parameters) -> np.ndarray:
    """Segments every slice of a stack and labels it, with labels unique across the stack.

    frames: (T, H, W) or (T, H, W, 3), any array-like indexed one slice at a time (numpy, dask,
    zarr); each slice is read when it is segmented. parameters: those of ``generate_masks``.
    out: optional (T, H, W) array-like to write into (e.g. a zarr array); a new uint32 array
    otherwise. Slice t's labels continue after the last label number given out on slices < t.
    Returns ``out`` or the new array.
    """
    n_frames = frames.shape[0] if hasattr(frames, "shape") else len(frames)
    labels = None
    next_label = 1
    for t in tqdm(range(n_frames), desc="slices", unit="slice", disable=not progress):
        image = np.asarray(frames[t])
        labels_hw, n_masks = _paint(iter_masks(model, image, **parameters), image.shape[:2], next_label)
        if labels is None:
            labels = out if out is not None else np.zeros((n_frames, *labels_hw.shape), dtype=np.uint32)
        labels[t] = labels_hw
        next_label += n_masks
    if labels is None:  # no slices
        return out if out is not None else np.zeros((0, 0, 0), dtype=np.uint32)
    return labels


def _paint(records: Iterable[dict], image_hw: tuple[int, int] | None, first_label: int) -> tuple[np.ndarray, int]:
    """Paints masks in record order, each over the pixels held by no smaller mask so far.
    Returns (labels, number of records). Holds the labels and the covering mask's area per pixel."""
    labels_hw = area_hw = None
    count = 0
    for count, record in enumerate(records, start=1):
        mask_hw = np.asarray(record["segmentation"], dtype=bool)
        if labels_hw is None:
            labels_hw = np.zeros(mask_hw.shape, dtype=np.uint32)
            area_hw = np.full(mask_hw.shape, np.iinfo(np.uint32).max, dtype=np.uint32)
        on_top = mask_hw & (record["area"] <= area_hw)
        labels_hw[on_top] = first_label + count - 1
        area_hw[on_top] = record["area"]
    if labels_hw is None:
        if image_hw is None:
            raise ValueError("found no records and no image_hw; give image_hw to label an image without masks")
        labels_hw = np.zeros(image_hw, dtype=np.uint32)
    return labels_hw, count
