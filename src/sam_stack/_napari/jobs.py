"""The work that runs off the GUI thread, as plain generator functions.

napari's ``create_worker`` runs them in a thread; every ``yield`` hands a result to the GUI
(and is the point where a cancel takes effect), the ``return`` value arrives at the end. They
call only the public ``sam_stack`` API and touch no layer, so they need no Qt.
"""

import numpy as np

import sam_stack

from ..tasks.embedding_cache_encode import encode_into_cache, encode_through_cache, encoder_input

ENCODING = "encoding"
"""Yielded by ``predict_on_plane`` before it encodes, so the widget can say that it is busy."""

DIRECTIONS = {"forward": (False,), "backward": (True,), "both": (False, True)}
"""For each propagation direction, the ``reverse`` flags of the tracker's passes, in order."""


def predict_on_plane(model, cache, plane, prompts, region=None):
    """Masks (of the whole plane) for ``prompts`` on ``plane``, encoding the plane, or only its
    ``region`` (x0, y0, x1, y1), unless ``cache`` (an ``EmbeddingCache``) has that encoding; a
    mask prompt is turned into logits."""
    seen = encoder_input(model, plane.read_pixels(), region)
    if seen.key not in cache:
        yield ENCODING
    encoding = encode_through_cache(model, seen, cache)
    mask_logits = None if prompts.mask is None else model.logits_from_mask(encoding, prompts.mask)
    return model.predict(encoding, **prompts.predict_arguments(), mask_logits=mask_logits)


def pre_encode(model, cache, planes) -> int:
    """Encodes those ``planes`` whose encodings ``cache`` lacks; returns how many."""
    return encode_into_cache(model, [plane.read_pixels() for plane in planes], cache)


def segment_everything(model, planes, points_per_side: int):
    """Yields (plane, (H, W) uint32 labels) for each plane, from the automatic mask generator."""
    for plane in planes:
        pixels = plane.read_pixels()
        records = sam_stack.generate_masks(model, pixels, points_per_side=points_per_side)
        yield plane, sam_stack.masks_to_labels(records, image_hw=pixels.shape[:2])


def propagate(model, frames, start: int, objects: dict, direction: str, samurai: bool, embedding_cache=None):
    """Yields (frame, {object_id: (H, W) bool}) as the tracker carries ``objects`` (object id ->
    keyword arguments of ``add_prompt``) from frame ``start`` through ``frames``; ``samurai``
    chooses among candidate masks with SAMURAI's motion model; frames encoded before are taken
    from ``embedding_cache`` (an ``EmbeddingCache``), so propagating again after a correction is quick."""
    tracker = sam_stack.StackTracker(model, frames, samurai=samurai, embedding_cache=embedding_cache)
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
