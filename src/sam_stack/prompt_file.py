"""The prompts file of ``sam-stack propagate``: which objects to follow, and where they are.

A JSON object with one key, ``"objects"``, a list of prompts; each prompt places one object on
one frame of the stack::

    {
      "objects": [
        {"id": 1, "frame": 0, "points": [[120, 80], [60, 40]], "labels": [1, 0]},
        {"id": 1, "frame": 9, "box": [100, 60, 150, 110]},
        {"id": 2, "frame": 4, "mask": "cell2_frame4.png"}
      ]
    }

- ``id``: the object, an integer from 1 to 2**32 - 1; it becomes the object's value in the label
  image. An object may be prompted on several frames (one entry per frame).
- ``frame``: the frame the prompt is on, counted from 0 (a folder's frames in natural order).
- ``points``: [x, y] pixels of the frame, x to the right and y down from the top-left corner.
- ``labels``: one per point, 1 on the object and 0 on the background; all 1 when left out.
- ``box``: [x0, y0, x1, y1] pixels around the object.
- ``mask``: an image file of the frame's size, the object where it is not 0; its path is
  relative to the prompts file. A mask is a prompt on its own, not with points or a box.

Each prompt needs points, a box, or a mask. Mistakes raise :class:`~sam_stack.errors.PromptError`
naming the file, the prompt (``objects[i]``) and the field, with what was found and expected.
"""

import json
import numbers
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import ImageError, PromptError
from .io import read_image

FIELDS = ("id", "frame", "points", "labels", "box", "mask")
MAX_OBJECT_ID = 2**32 - 1


@dataclass(frozen=True)
class FramePrompt:
    """One object's prompt on one frame, as ``StackTracker.add_prompt`` takes it.

    points: (N, 2) float (x, y) pixels or None; labels: (N,) int 0 / 1 or None;
    box: (4,) float x0, y0, x1, y1 or None; mask: (H, W) bool or None.
    where: how the prompts file names this prompt, for error messages.
    """

    object_id: int
    frame: int
    points: np.ndarray | None
    labels: np.ndarray | None
    box: np.ndarray | None
    mask: np.ndarray | None
    where: str


def read_prompt_file(path) -> list[FramePrompt]:
    """The prompts of a prompts file (format in the module docstring), in the file's order."""
    path = Path(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PromptError(f"no prompts file at {path}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise PromptError(f"{path} could not be read as JSON ({error})") from None
    if not isinstance(document, dict) or not isinstance(document.get("objects"), list):
        raise PromptError(f'{path}: found {_short(document)}; expected {{"objects": [...]}}, a list of prompts')
    if not document["objects"]:
        raise PromptError(f'{path}: found an empty "objects" list; expected at least one prompt')
    prompts = [_prompt(entry, f"objects[{index}]", path) for index, entry in enumerate(document["objects"])]
    seen = set()
    for prompt in prompts:
        if (prompt.object_id, prompt.frame) in seen:
            raise PromptError(
                f"{prompt.where}: object {prompt.object_id} is prompted twice on frame {prompt.frame}; "
                "expected one entry per object and frame (put all its points in one entry)"
            )
        seen.add((prompt.object_id, prompt.frame))
    return prompts


def _prompt(entry, where: str, path: Path) -> FramePrompt:
    if not isinstance(entry, dict):
        raise PromptError(f"{path}: {where}: found {_short(entry)}; expected an object such as {{\"id\": 1, \"frame\": 0, ...}}")
    unknown = sorted(set(entry) - set(FIELDS))
    if unknown:
        raise PromptError(f"{path}: {where}: found the field(s) {', '.join(map(repr, unknown))}; expected only {', '.join(FIELDS)}")
    object_id = _integer(entry, "id", 1, MAX_OBJECT_ID, where, path)
    where = f"{where} (id {object_id})"
    frame = _integer(entry, "frame", 0, None, where, path)
    points = _number_array(entry, "points", (-1, 2), "a list of [x, y] pairs", where, path)
    labels = _labels(entry, points, where, path)
    box = _number_array(entry, "box", (4,), "[x0, y0, x1, y1]", where, path)
    mask = _mask(entry, path, where)
    if mask is not None and (points is not None or box is not None):
        raise PromptError(f"{path}: {where}: found a mask together with points or a box; expected a mask alone")
    if mask is None and points is None and box is None:
        raise PromptError(f'{path}: {where}: found no prompt; expected "points", "box" or "mask"')
    return FramePrompt(object_id, frame, points, labels, box, mask, f"{path}: {where}, frame {frame}")


def _integer(entry: dict, key: str, low: int, high: int | None, where: str, path: Path) -> int:
    value = entry.get(key)
    valid = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if not valid or value < low or (high is not None and value > high):
        expected = f"an integer from {low} to {high}" if high is not None else f"an integer >= {low}"
        raise PromptError(f'{path}: {where}: "{key}" is {value!r}; expected {expected}')
    return int(value)


def _number_array(entry: dict, key: str, shape: tuple[int, ...], expected: str, where: str, path: Path):
    """entry[key] as a float array of ``shape`` (-1: any length >= 1), or None when absent."""
    if key not in entry:
        return None
    value = entry[key]
    try:
        array = np.array(value, dtype=np.float64) if _numbers_only(value) else None
    except ValueError:  # nested lists of unequal lengths
        array = None
    shape_fits = array is not None and array.ndim == len(shape) and array.size > 0
    if not shape_fits or not all(want in (-1, have) for want, have in zip(shape, array.shape)):
        raise PromptError(f'{path}: {where}: "{key}" is {_short(value)}; expected {expected}')
    return array


def _numbers_only(value) -> bool:
    """Whether ``value`` is a finite number or nested lists of them (JSON's true and false are not)."""
    if isinstance(value, list):
        return all(_numbers_only(item) for item in value)
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and np.isfinite(value)


def _labels(entry: dict, points, where: str, path: Path):
    if "labels" not in entry:
        return None if points is None else np.ones(len(points), dtype=np.int64)
    labels = entry["labels"]
    expected = f"one label per point ({0 if points is None else len(points)}), each 1 (object) or 0 (background)"
    if points is None or not isinstance(labels, list) or len(labels) != len(points) or any(
        isinstance(label, bool) or label not in (0, 1) for label in labels
    ):
        raise PromptError(f'{path}: {where}: "labels" is {_short(labels)}; expected {expected}')
    return np.array(labels, dtype=np.int64)


def _mask(entry: dict, path: Path, where: str):
    if "mask" not in entry:
        return None
    if not isinstance(entry["mask"], str):
        raise PromptError(f'{path}: {where}: "mask" is {_short(entry["mask"])}; expected the path of an image file')
    mask_path = path.parent / entry["mask"]
    try:
        mask = read_image(mask_path)
    except ImageError as error:
        raise PromptError(f'{path}: {where}: "mask": {error}') from None
    if mask.ndim != 2:
        raise PromptError(
            f'{path}: {where}: "mask" {mask_path} has shape {mask.shape}; expected a single-channel (H, W) image, '
            "the object where it is not 0"
        )
    return mask != 0


def _short(value) -> str:
    text = json.dumps(value)
    return text if len(text) <= 60 else text[:57] + "..."
