"""Encoding the planes next to the one in view, in the background, so that moving there shows
masks at once.

After a preview, the planes one step before and after it, along the axis the user last moved
(or else the last axis before y and x), are encoded into the widget's embedding cache, unless it
holds them already, each as a click there would encode it (``encode_into_cache``). One job runs
at a time.
"""

from napari.qt.threading import create_worker

from .image_plane import PlaneSelection
from .jobs import pre_encode


class NeighbourPreEncoder:
    """Starts one background job at a time; ``worker`` is the running one, or None."""

    def __init__(self, viewer) -> None:
        self.viewer = viewer
        self.worker = None

    def start(self, model, cache, plane: PlaneSelection) -> None:
        """Encodes the neighbours of ``plane`` into ``cache`` unless a job is running already."""
        if self.worker is not None or not plane.index:
            return
        axis = moved_axis(self.viewer, plane)
        self.worker = create_worker(
            pre_encode, model, cache, neighbour_planes(plane, axis), _connect={"finished": self._finished}
        )

    def _finished(self) -> None:
        self.worker = None


def moved_axis(viewer, plane: PlaneSelection) -> int:
    """The axis of ``plane.index`` that the viewer's slider last moved (``dims.last_used``), or
    the last one when that slider is not one of them (a 2-D image has none: do not ask)."""
    # Viewer axes count from the left of the viewer's dimensions; index axes skip the axes the
    # layer lacks and, with channels first, the channel axis.
    offset = viewer.dims.ndim - plane.layer.ndim + (1 if plane.channels_first else 0)
    axis = viewer.dims.last_used - offset
    return axis if 0 <= axis < len(plane.index) else len(plane.index) - 1


def neighbour_planes(plane: PlaneSelection, axis: int) -> list[PlaneSelection]:
    """The planes one step before and after ``plane`` along ``axis``, where they exist."""
    size = plane.object_shape[axis]
    here = plane.index[axis]
    return [plane.at(axis, position) for position in (here - 1, here + 1) if 0 <= position < size]
