"""Prompts for the model, read from the layers a user draws in.

- Points: each point is positive (part of the object) or negative (not part of it), kept in the
  Points layer's ``features["prompt"]`` and shown by face colour; a Points layer without that
  feature counts all its points as positive.
- Boxes: rectangles of a Shapes layer (other shapes are ignored); SAM takes one box, so the
  newest rectangle on the plane is used.
- A mask: an object of a Labels layer (the label being refined), which joins the points and box
  as the model's mask prompt (``model.logits_from_mask`` turns it into low-resolution logits).

Only prompts on the plane being segmented count. Coordinates go from each layer's data to the
world and from there into the image's data, so layers with different scale or translate agree.
"""

from dataclasses import dataclass

import numpy as np

PROMPT_FEATURE = "prompt"
POSITIVE, NEGATIVE = "positive", "negative"
PROMPT_COLOURS = {POSITIVE: "lime", NEGATIVE: "magenta"}


@dataclass(frozen=True)
class PlanePrompts:
    """What ``model.predict`` takes, in the plane's pixels: points (N, 2) as (x, y) with labels
    (N,) 1/0, a box (x0, y0, x1, y1) and an (H, W) bool mask of the plane; absent ones are None.
    A mask alone is not a prompt to preview: it refines what points or a box select.

    ``point_rows`` and ``box_rows`` are the rows of every point and rectangle on the plane (to
    clear them); ``outside`` counts points on the plane outside the image, which are left out.
    """

    points_xy: np.ndarray | None = None
    point_labels: np.ndarray | None = None
    box: np.ndarray | None = None
    point_rows: tuple[int, ...] = ()
    box_rows: tuple[int, ...] = ()
    outside: int = 0
    mask: np.ndarray | None = None

    @property
    def is_empty(self) -> bool:
        return self.points_xy is None and self.box is None

    def predict_arguments(self) -> dict:
        return {"points": self.points_xy, "point_labels": self.point_labels, "box": self.box}


def read_prompts(plane, points_layer=None, shapes_layer=None, labels_layer=None, label: int = 0) -> PlanePrompts:
    """The prompts of ``points_layer`` and ``shapes_layer`` that lie on ``plane``, and object
    ``label`` of ``labels_layer`` (which has the image's object shape) as the mask, if it is there."""
    points = _points_on_plane(plane, points_layer)
    box = _box_on_plane(plane, shapes_layer)
    return PlanePrompts(**points, **box, **_label_on_plane(plane, labels_layer, label))


def _is_positive(points_layer) -> np.ndarray:
    """(N,) bool: which points of the layer are positive prompts."""
    if PROMPT_FEATURE not in points_layer.features:
        return np.ones(len(points_layer.data), dtype=bool)
    return np.asarray(points_layer.features[PROMPT_FEATURE] != NEGATIVE)


def _points_on_plane(plane, layer) -> dict:
    if layer is None or len(layer.data) == 0:
        return {}
    world = np.array([layer.data_to_world(point) for point in layer.data])
    rows_cols, on_plane = plane.world_to_plane(world)
    height, width = plane.plane_shape
    # napari draws pixel i from i - 0.5 to i + 0.5: a click anywhere on the image is inside, and
    # clipping to the outermost pixel centres keeps it inside for the model (0 <= x < W) too.
    inside = np.all((rows_cols >= -0.5) & (rows_cols < np.array([height, width]) - 0.5), axis=1)
    chosen = np.flatnonzero(on_plane & inside)
    on_plane_rows = tuple(int(row) for row in np.flatnonzero(on_plane))
    found = {"point_rows": on_plane_rows, "outside": int(np.count_nonzero(on_plane & ~inside))}
    if len(chosen) == 0:
        return found
    rows_cols = np.clip(rows_cols[chosen], 0, np.array([height, width]) - 1)
    labels = _is_positive(layer)[chosen].astype(np.int64)
    return found | {"points_xy": rows_cols[:, ::-1].copy(), "point_labels": labels}


def _box_on_plane(plane, layer) -> dict:
    if layer is None:
        return {}
    rectangles = [row for row, kind in enumerate(layer.shape_type) if kind == "rectangle"]
    boxes = {}
    for row in rectangles:
        corners = np.array([layer.data_to_world(vertex) for vertex in layer.data[row]])
        rows_cols, on_plane = plane.world_to_plane(corners)
        if on_plane.all():
            (row0, col0), (row1, col1) = rows_cols.min(axis=0), rows_cols.max(axis=0)
            boxes[row] = np.array([col0, row0, col1, row1])
    if not boxes:
        return {}
    newest = max(boxes)
    return {"box": boxes[newest], "box_rows": tuple(boxes)}


def _label_on_plane(plane, layer, label: int) -> dict:
    if layer is None or label == 0:
        return {}
    mask = np.asarray(layer.data[plane.index]) == label
    return {"mask": mask} if mask.any() else {}
