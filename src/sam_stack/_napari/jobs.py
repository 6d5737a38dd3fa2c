"""The work that runs off the GUI thread, as plain generator functions.

napari's ``create_worker`` runs them in a thread; every ``yield`` hands a result to the GUI
(and is the point where a cancel takes effect), the ``return`` value arrives at the end. They
call only the public ``sam_stack`` API and touch no layer, so they need no Qt.
"""

import numpy as np

import sam_stack

from .encoding_cache import pixels_key

ENCODING = "encoding"
"""Yielded by ``predict_on_plane`` before it encodes, so the widget can say that it is busy."""

DIRECTIONS = {"forward": (False,), "backward": (True,), "both": (False, True)}
"""For each propagation direction, the ``reverse`` flags of the tracker's passes, in order."""


def predict_on_plane(model, cache, plane, prompts):
    """Masks for ``prompts`` on ``plane``, encoding the plane only if the cache lacks it."""
    pixels = plane.read_pixels()
    key = pixels_key(pixels)
    encoding = cache.get(key)
    if encoding is None:
        yield ENCODING
        encoding = model.encode_image(pixels)
        cache.put(key, encoding)
    return model.predict(encoding, **prompts.predict_arguments())


def segment_everything(model, planes, points_per_side: int):
    """Yields (plane, (H, W) uint32 labels) for each plane, from the automatic mask generator."""
    for plane in planes:
        pixels = plane.read_pixels()
        records = sam_stack.generate_masks(model, pixels, points_per_side=points_per_side)
        yield plane, sam_stack.masks_to_labels(records, image_hw=pixels.shape[:2])


def propagate(model, frames, start: int, objects: dict, direction: str, samurai: bool):
    """Yields (frame, {object_id: (H, W) bool}) as the tracker carries ``objects`` (object id ->
    keyword arguments of ``add_prompt``) from frame ``start`` through ``frames``; ``samurai``
    chooses among candidate masks with SAMURAI's motion model."""
    tracker = sam_stack.StackTracker(model, frames, samurai=samurai)
    for object_id, prompt in objects.items():
        tracker.add_prompt(start, object_id, **prompt)
    for reverse in DIRECTIONS[direction]:
        yield from tracker.propagate(start=start, reverse=reverse)


class FramesAlongAxis:
    """The planes of an image along one object axis, as the stack ``StackTracker`` takes: it uses
    ``len``, ``shape`` and ``frames[i]``, and each frame is read and normalised only when asked for."""

    def __init__(self, plane, axis: int, first: int, last: int) -> None:
        self._plane, self._axis, self._first = plane, axis, first
        self.shape = (last - first + 1,) + plane.plane_shape + ((3,) if plane.is_colour else ())

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, frame: int) -> np.ndarray:
        if not 0 <= frame < len(self):
            raise IndexError(f"frame {frame} is outside the {len(self)} frames")
        return self._plane.at(self._axis, self._first + int(frame)).read_pixels()
