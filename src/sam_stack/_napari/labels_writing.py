"""Writing objects into a Labels layer so that napari's undo (Ctrl+Z) takes them back.

Every write goes through ``Labels.data_setitem``, which records what it replaces in the layer's
undo history; writes grouped in ``Labels.block_history`` are undone in one step.

Other objects are safe unless ``overwrite`` is set: a pixel that already belongs to another
object keeps it. Long runs (propagation, segmenting every plane) write plane by plane as results
arrive, through ``StagedLabelsEdit``, which can still put everything back if the run is
cancelled, and otherwise records the whole run as one undo step.

An image read lazily (dask, zarr, a memory-mapped file) gets its objects in a zarr array on disk
(``new_labels_data``), and nothing here reads more than a plane of such a layer at once.
"""

import shutil
import tempfile
import weakref

import numpy as np
import zarr

from ..errors import SamStackError

LABEL_CHUNK_SIDE = 1024
"""Side of the chunks of a zarr label volume: a plane of a very large image is written tile by tile."""


def new_labels_data(shape: tuple[int, ...], image_data):
    """Zeros (uint32) of ``shape`` for the objects of an image whose pixels are ``image_data``.

    An image held in memory as a numpy array gets a numpy array. Any other (dask, zarr, a memory
    map) gets a zarr array in a temporary folder, in chunks of one plane (tiles of
    ``LABEL_CHUNK_SIDE`` for large planes) written only where objects are, so a label volume
    larger than memory works; the folder is deleted when the array is (save the layer to keep it).
    """
    if isinstance(image_data, np.ndarray) and not isinstance(image_data, np.memmap):
        return np.zeros(shape, dtype=np.uint32)
    folder = tempfile.mkdtemp(prefix="sam-stack-labels-")
    chunks = (1,) * (len(shape) - 2) + tuple(min(side, LABEL_CHUNK_SIDE) for side in shape[-2:])
    labels = zarr.create_array(store=folder, shape=shape, chunks=chunks, dtype=np.uint32, fill_value=0)
    weakref.finalize(labels, shutil.rmtree, folder, True)
    return labels


def next_free_label(layer) -> int:
    """One more than the largest label in the layer (1 for an empty layer), read a plane at a
    time unless the layer is a numpy array."""
    data = layer.data
    if not data.size:
        return 1
    if isinstance(data, np.ndarray):
        return int(np.max(data)) + 1
    return max(int(np.max(np.asarray(data[index]))) for index in np.ndindex(*data.shape[:-2])) + 1


def check_label_fits(layer, label: int) -> None:
    limit = np.iinfo(layer.data.dtype).max
    if label > limit:
        raise SamStackError(
            f"label {label} does not fit into layer '{layer.name}' of dtype {layer.data.dtype} (at most {limit})"
        )


def mask_prompts(plane: np.ndarray) -> dict[int, dict]:
    """Each object of a label plane as the tracker's mask prompt: {label: {"mask": (H, W) bool}}."""
    return {int(label): {"mask": plane == label} for label in np.unique(plane[plane > 0])}


def paint_mask(plane: np.ndarray, mask: np.ndarray, label: int, overwrite: bool) -> np.ndarray:
    """``plane`` with ``label`` written where ``mask`` is set and the pixel is free (background or
    already ``label``), or everywhere in ``mask`` with ``overwrite``."""
    writable = mask if overwrite else mask & ((plane == 0) | (plane == label))
    painted = plane.copy()
    painted[writable] = label
    return painted


def paint_tracked_objects(plane: np.ndarray, masks: dict, overwrite: bool) -> np.ndarray:
    """``plane`` with each tracked object (id -> mask) replaced by its new mask.

    An object's old pixels on the plane are cleared first: a new propagation result supersedes
    the previous one rather than adding to it.
    """
    painted = plane.copy()
    for object_id, mask in masks.items():
        painted[painted == object_id] = 0
        painted = paint_mask(painted, np.asarray(mask, dtype=bool), object_id, overwrite)
    return painted


def paint_new_objects(plane: np.ndarray, objects: np.ndarray, first_label: int, overwrite: bool):
    """``plane`` with every object of ``objects`` (a label image, 0 = none) added under new labels
    from ``first_label`` on; returns it and the next free label."""
    painted = plane.copy()
    label = first_label
    for object_id in np.unique(objects[objects > 0]):
        painted = paint_mask(painted, objects == object_id, label, overwrite)
        label += 1
    return painted, label


def write_plane(layer, index: tuple[int, ...], new_plane: np.ndarray) -> int:
    """Writes one plane as one undo step; returns how many pixels changed."""
    with layer.block_history():
        return _record_plane_change(layer, index, np.asarray(layer.data[index]), new_plane)


def _record_plane_change(layer, index, old_plane, new_plane) -> int:
    rows, cols = np.nonzero(old_plane != new_plane)
    if len(rows) == 0:
        return 0
    indices = tuple(np.full(len(rows), position) for position in index) + (rows, cols)
    layer.data_setitem(indices, new_plane[rows, cols])
    return len(rows)


class StagedLabelsEdit:
    """Planes written straight into a Labels layer while a long run goes on.

    ``write`` shows a plane at once and remembers what it replaced; ``cancel`` puts every plane
    back as it was; ``commit`` turns all the writes into one undo step.
    """

    def __init__(self, layer) -> None:
        self.layer = layer
        self._originals: dict[tuple[int, ...], np.ndarray] = {}

    def plane(self, index: tuple[int, ...]) -> np.ndarray:
        return np.asarray(self.layer.data[index])

    def write(self, index: tuple[int, ...], new_plane: np.ndarray) -> None:
        if index not in self._originals:
            self._originals[index] = np.array(self.layer.data[index], copy=True)
        self.layer.data[index] = new_plane
        self.layer.refresh()

    def cancel(self) -> None:
        for index, original in self._originals.items():
            self.layer.data[index] = original
        self._originals.clear()
        self.layer.refresh()

    def commit(self) -> int:
        """Records every staged plane in the undo history, as one step; returns the pixels changed."""
        changed = 0
        with self.layer.block_history():
            for index, original in self._originals.items():
                new_plane = self.plane(index).copy()
                # data_setitem records the values it replaces: put the originals back first.
                self.layer.data[index] = original
                changed += _record_plane_change(self.layer, index, original, new_plane)
        self._originals.clear()
        self.layer.refresh()
        return changed
