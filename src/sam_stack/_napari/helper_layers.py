"""The layers the widget adds beside an image: prompt points, prompt boxes and the mask preview.

Each takes the image's scale and translate, so that it lies on the image whatever its pixel size.
"""

import numpy as np
from napari.layers import Labels, Points, Shapes

from .prompts import NEGATIVE, POSITIVE, PROMPT_COLOURS, PROMPT_FEATURE

PREVIEW_COLOUR = "yellow"


def object_geometry(plane) -> dict:
    """Scale and translate of the image's object axes (without a channel axis)."""
    skip = 1 if plane.channels_first else 0
    return {"scale": tuple(plane.layer.scale[skip:]), "translate": tuple(plane.layer.translate[skip:])}


def new_points_layer(plane) -> Points:
    layer = Points(
        ndim=len(plane.object_shape),
        name="SAM points",
        size=max(3.0, min(plane.plane_shape) / 40),
        border_color="white",
        **object_geometry(plane),
    )
    style_prompt_points(layer)
    return layer


def style_prompt_points(layer: Points) -> None:
    """Gives the layer the ``prompt`` feature (existing points count as positive) and colours
    each point by it."""
    if PROMPT_FEATURE not in layer.features:
        features = layer.features.copy()
        features[PROMPT_FEATURE] = POSITIVE
        layer.features = features
    layer.feature_defaults = {PROMPT_FEATURE: POSITIVE}
    layer.face_color_cycle = PROMPT_COLOURS
    layer.face_color = PROMPT_FEATURE


def set_next_point_positive(layer: Points, positive: bool) -> None:
    layer.feature_defaults = {PROMPT_FEATURE: POSITIVE if positive else NEGATIVE}


def new_boxes_layer(plane) -> Shapes:
    return Shapes(
        ndim=len(plane.object_shape),
        name="SAM boxes",
        face_color="transparent",
        edge_color="cyan",
        edge_width=max(1.0, min(plane.plane_shape) / 200),
        **object_geometry(plane),
    )


def preview_geometry(plane) -> dict:
    """Scale and translate of the plane's two axes, where a 2-D preview layer goes."""
    return {name: values[-2:] for name, values in object_geometry(plane).items()}


def new_preview_layer(plane) -> Labels:
    """A 2-D Labels layer for the candidate mask of the plane: napari lays it over whichever
    plane is shown, and the widget clears it when the plane changes."""
    return Labels(
        np.zeros(plane.plane_shape, dtype=np.uint8),
        name="SAM preview",
        opacity=0.5,
        colormap={None: "transparent", 1: PREVIEW_COLOUR},
        **preview_geometry(plane),
    )


def fits_preview(layer: Labels, plane) -> bool:
    """Whether ``layer`` can show masks of ``plane`` in place."""
    geometry = preview_geometry(plane)
    return (
        layer.data.shape == plane.plane_shape
        and np.allclose(layer.scale, geometry["scale"])
        and np.allclose(layer.translate, geometry["translate"])
    )
