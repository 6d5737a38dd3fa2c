"""Merging the label images of overlapping tiles into one label image, across their seams.

Tiles are added in raster order. Each comes as a label image of its own masks (``masks_to_labels``
of the tile: 1..n, smaller masks on top), with, per mask, whether it is *cut*: its box comes
within a margin of an edge of the tile that is not an edge of the image (the official generator's
crop-edge test), so the object probably goes on beyond the tile; else it is *whole*. A label of
the image is whole or cut as the mask it came from.

Masks and labels are compared over the *band*, the pixels of the tile that earlier tiles cover,
by their visible pixels (what the label images show), and only where both sides found something:
pixels that one side left as background do not count, so that a mask drawn a little too large at
a seam (as a model may draw an object it sees only part of) still meets its partner. With
t = ``merge_threshold`` (0.5 <= t < 1, so that each rule finds at most one partner per mask or
per label):

- a whole mask whose IoU with a whole label is above t is a duplicate: dropped;
- a whole mask takes over every cut label more than a fraction t of whose pixels lie inside it
  (pieces of this object, which this tile sees whole): they are erased, wherever they reach, and
  the mask gets the first one's number;
- a cut mask more than a fraction t of whose pixels lie in one label is part of that object:
  dropped if the label is whole (or taken over by a whole mask of this tile), joined to it (one
  label, the union) if the label is cut: pieces of an object larger than the overlap;
- any other mask gets a new number.

Where pixels compete, a whole mask takes background and pixels of cut labels, a cut mask takes
background only. So an object that fits in the overlap band with the margin on both sides comes
whole from a tile it lies inside, even where tiles that cut it drew their pieces too large; a larger
object is the union of its pieces, joined where they show the same pixels in a band.
"""

from dataclasses import dataclass

import numpy as np

from ...errors import SamStackError
from .tile_grid import Tile


@dataclass(frozen=True)
class TileMatches:
    """How the n masks of a tile relate to the labels already in the image.

    duplicate_n: (n,) bool, whole masks that a whole label already holds. joined_n: (n,) int64,
    for cut masks the label holding most of their pixels, 0 for none. absorbing_k,
    absorbed_k: (k,) pairs (mask index, cut label) of whole masks and the labels they take over.
    """

    duplicate_n: np.ndarray
    joined_n: np.ndarray
    absorbing_k: np.ndarray
    absorbed_k: np.ndarray


class SeamMerger:
    """Writes tiles' labels into ``labels`` ((H, W) uint32 array-like, zeros to begin with).

    Holds, besides the label image, one flag and one box per label number given out.
    """

    def __init__(self, labels, merge_threshold: float = 0.5) -> None:
        if not 0.5 <= merge_threshold < 1:
            raise SamStackError(
                f"found merge_threshold={merge_threshold}; expected 0.5 <= merge_threshold < 1, so that matches are unique"
            )
        self.labels = labels
        self.threshold = merge_threshold
        self.is_whole = np.zeros(1, bool)  # by label number; 0 (background) is never whole
        self.boxes: dict[int, np.ndarray] = {}  # label -> [top, left, bottom, right), exclusive, image pixels
        self.next_label = 1

    def add_tile(self, tile: Tile, local_hw: np.ndarray, is_cut_n: np.ndarray, boxes_n4: np.ndarray) -> None:
        """Merges one tile's labels into the image.

        local_hw: (h, w) labels of the tile's n masks, 1..n (mask i is label i + 1), 0 = none.
        is_cut_n: (n,) bool. boxes_n4: (n, 4) int XYXY inclusive mask boxes in the tile's frame.
        A mask that becomes a new label gets the number ``next_label + i``, so an image of one
        tile gets exactly the tile's labels.
        """
        is_cut_n = np.asarray(is_cut_n, bool)
        count = len(is_cut_n)
        self._grow(self.next_label + count)
        rows, cols = tile.slices
        window_hw = np.asarray(self.labels[rows, cols])
        matches = self._match(local_hw, window_hw, tile.covered_hw(), is_cut_n)

        target_n = self.next_label + np.arange(count, dtype=np.int64)
        taken_over = set()  # cut labels that whole masks of this tile take over
        for i in np.unique(matches.absorbing_k).tolist():
            absorbed = sorted(matches.absorbed_k[matches.absorbing_k == i].tolist())
            for label in absorbed:
                self._erase(label)
                taken_over.add(label)
            target_n[i] = absorbed[0]
        for i in np.flatnonzero(matches.joined_n).tolist():
            label = int(matches.joined_n[i])
            target_n[i] = 0 if self.is_whole[label] or label in taken_over else label
        target_n[matches.duplicate_n] = 0
        if taken_over:
            window_hw = np.asarray(self.labels[rows, cols])

        # Index 0 of these lookups is "no mask here".
        target_of_local = np.concatenate([[0], target_n]).astype(np.uint32)
        takes_cut_pixels = np.concatenate([[False], ~is_cut_n])
        wanted_hw = target_of_local[local_hw]
        free_hw = (window_hw == 0) | (takes_cut_pixels[local_hw] & ~self.is_whole[window_hw])
        written_hw = (wanted_hw > 0) & free_hw
        window_hw[written_hw] = wanted_hw[written_hw]
        self.labels[rows, cols] = window_hw

        for i in np.flatnonzero(target_n).tolist():
            label = int(target_n[i])
            x0, y0, x1, y1 = (int(v) for v in boxes_n4[i])
            box = np.array([tile.top + y0, tile.left + x0, tile.top + y1 + 1, tile.left + x1 + 1])
            if label in self.boxes:
                box = np.concatenate([np.minimum(box[:2], self.boxes[label][:2]), np.maximum(box[2:], self.boxes[label][2:])])
            self.boxes[label] = box
            self.is_whole[label] |= not is_cut_n[i]
        self.next_label += count

    def _match(self, local_hw: np.ndarray, window_hw: np.ndarray, covered_hw: np.ndarray, is_cut_n: np.ndarray) -> TileMatches:
        """The rules of the module docstring, over the band pixels that both sides labelled."""
        count = len(is_cut_n)
        both_hw = covered_hw & (local_hw > 0) & (window_hw > 0)
        local_k, window_k = local_hw[both_hw], window_hw[both_hw]
        pair_keys, shared = np.unique((local_k.astype(np.uint64) << np.uint64(32)) | window_k.astype(np.uint64), return_counts=True)
        masks = (pair_keys >> np.uint64(32)).astype(np.int64) - 1
        labels = (pair_keys & np.uint64(0xFFFFFFFF)).astype(np.int64)
        mask_areas = np.bincount(local_k, minlength=count + 1)[masks + 1]
        window_labels, window_areas = np.unique(window_k, return_counts=True)
        label_areas = window_areas[np.searchsorted(window_labels, labels)]

        mask_cut, label_whole = is_cut_n[masks], self.is_whole[labels]
        iou = shared / (mask_areas + label_areas - shared)
        duplicate_n = np.zeros(count, bool)
        duplicate_n[masks[~mask_cut & label_whole & (iou > self.threshold)]] = True
        absorbs = ~mask_cut & ~label_whole & (shared > self.threshold * label_areas) & ~duplicate_n[masks]
        joins = mask_cut & (shared > self.threshold * mask_areas)
        joined_n = np.zeros(count, np.int64)
        joined_n[masks[joins]] = labels[joins]
        return TileMatches(duplicate_n, joined_n, masks[absorbs], labels[absorbs])

    def _erase(self, label: int) -> None:
        """Removes a label's pixels from the image, within its box."""
        top, left, bottom, right = self.boxes.pop(label).tolist()
        region = np.asarray(self.labels[top:bottom, left:right])
        region[region == label] = 0
        self.labels[top:bottom, left:right] = region

    def _grow(self, size: int) -> None:
        if size > len(self.is_whole):
            self.is_whole = np.concatenate([self.is_whole, np.zeros(max(size, 2 * len(self.is_whole)) - len(self.is_whole), bool)])
