"""The 2-D plane of an image layer that the viewer shows now, and how to get there from the world.

Segmentation always works on one plane: the layer's last two axes (y, x), at the current
position of every other axis. An RGB layer keeps its colour axis after those two; a layer whose
first axis holds channels (C, ..., Y, X) gets its first three channels composed as RGB.

Objects live in "object space": the image's axes without the channel or colour axis. A Labels
layer that receives objects has exactly that shape, and a plane there is addressed by
``PlaneSelection.index`` (the positions on the leading object axes) followed by (rows, cols).
"""

from dataclasses import dataclass, replace

import numpy as np
from napari.layers import Image

from ..errors import ImageError
from ..tasks.display_normalisation import channels_to_rgb, to_display_uint8


@dataclass(frozen=True)
class PlaneSelection:
    """One plane of an image layer, with a snapshot of its display settings.

    Reading the pixels (``read_pixels``) touches only ``data``, so it can run off the GUI thread.
    """

    layer: Image
    data: object  # the full-resolution array-like (numpy, dask, zarr)
    index: tuple[int, ...]
    plane_shape: tuple[int, int]
    channels_first: bool
    contrast_limits: tuple[float, float]
    gamma: float
    world_point: tuple[float, ...]  # the viewer's position, to place points that lack some axes

    @property
    def object_shape(self) -> tuple[int, ...]:
        """Shape of a Labels layer that can hold this image's objects."""
        leading = self.data.shape[1:-2] if self.channels_first else self.data.shape[: len(self.index)]
        return tuple(leading) + self.plane_shape

    @property
    def is_colour(self) -> bool:
        """Whether ``read_pixels`` gives (H, W, 3) rather than (H, W)."""
        return self.layer.rgb or (self.channels_first and self.data.shape[0] > 1)

    def at(self, axis: int, position: int) -> "PlaneSelection":
        """The same plane, moved to ``position`` along leading object axis ``axis``."""
        index = list(self.index)
        index[axis] = position
        return replace(self, index=tuple(index))

    def every_plane(self) -> list["PlaneSelection"]:
        """This plane and all its siblings, one per position of the leading object axes."""
        return [replace(self, index=index) for index in np.ndindex(*self.object_shape[:-2])]

    def read_pixels(self) -> np.ndarray:
        """(H, W) or (H, W, 3) uint8, mapped through the layer's contrast limits and gamma."""
        if self.channels_first:
            channels = np.asarray(self.data[(slice(None),) + self.index])
            return channels_to_rgb(to_display_uint8(channels, self.contrast_limits, self.gamma))
        pixels = np.asarray(self.data[self.index])
        if self.layer.rgb:
            pixels = pixels[..., :3]  # the model takes RGB; an alpha channel is not part of the picture
        return to_display_uint8(pixels, self.contrast_limits, self.gamma)

    def world_to_plane(self, world_points) -> tuple[np.ndarray, np.ndarray]:
        """World coordinates (N, D) of points -> their (row, col) data coordinates in the plane,
        and whether each lies on this plane.

        Points with fewer axes than the viewer (a 2-D Points layer over a stack) take the viewer's
        position on the missing axes, so they lie on whatever plane is shown, as napari draws them.
        """
        world = np.asarray(world_points, dtype=np.float64).reshape(len(world_points), -1)
        full = np.tile(np.asarray(self.world_point, dtype=np.float64), (len(world), 1))
        full[:, full.shape[1] - world.shape[1] :] = world
        data = np.array([self.layer.world_to_data(point) for point in full]).reshape(len(world), -1)
        leading = data[:, 1:-2] if self.channels_first else data[:, :-2]
        on_plane = np.all(np.round(leading) == np.asarray(self.index), axis=1)
        return data[:, -2:], on_plane


def current_plane(viewer, layer: Image, channels_first: bool) -> PlaneSelection:
    """The plane of ``layer`` that ``viewer`` shows now; ImageError if there is none to segment."""
    if viewer.dims.ndisplay != 2:
        raise ImageError("the viewer shows 3-D; switch it to 2-D (the square button at the bottom left) to segment")
    data = layer.data[0] if layer.multiscale else layer.data
    ndim = layer.ndim  # without the colour axis of an RGB layer
    layer_displayed = [axis - (viewer.dims.ndim - ndim) for axis in viewer.dims.displayed]
    if sorted(layer_displayed) != [ndim - 2, ndim - 1]:
        raise ImageError(
            f"the viewer shows axes {tuple(viewer.dims.displayed)} of layer '{layer.name}'; segmentation works on "
            "its last two axes (y, x): press the 'roll dimensions' button at the bottom left until they are shown"
        )
    if channels_first and (layer.rgb or ndim < 3):
        raise ImageError(
            f"layer '{layer.name}' of shape {tuple(data.shape)} has no channel axis before its last two; "
            "untick 'Channels on the first axis'"
        )
    position = layer.world_to_data(viewer.dims.point)
    first_object_axis = 1 if channels_first else 0
    index = tuple(
        int(np.clip(np.round(position[axis]), 0, data.shape[axis] - 1)) for axis in range(first_object_axis, ndim - 2)
    )
    return PlaneSelection(
        layer=layer,
        data=data,
        index=index,
        plane_shape=tuple(int(size) for size in data.shape[ndim - 2 : ndim]),
        channels_first=channels_first,
        contrast_limits=tuple(float(limit) for limit in layer.contrast_limits),
        gamma=float(layer.gamma),
        world_point=tuple(float(value) for value in viewer.dims.point),
    )
