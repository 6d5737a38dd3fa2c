"""`sam-stack automask PATH... --model M --out DIR [--cutouts]`: segment everything in images."""

import colorsys
import os
import sys
from pathlib import Path

import cv2
import numpy as np
from tqdm.auto import tqdm

from .errors import SamStackError
from .io import IMAGE_SUFFIXES, read_image, write_labels
from .models import load_model
from .models.catalog import resolve
from .models.image_input import to_uint8_rgb
from .tasks.automask import generate_labels_stack, generate_labels_tiled, iter_masks, masks_to_labels

DESCRIPTION = """\
Finds every object in each image with the automatic mask generator (a grid of point prompts,
filtered and de-duplicated, as the official SamAutomaticMaskGenerator / SAM2AutomaticMaskGenerator
do) and writes, per image, into DIR:
  NAME_labels.tif     uint32 label image, 0 = background, 1.. = masks (smaller masks on top);
  NAME_overlay.png    the image with each mask in its own colour;
  NAME_segments/      with --cutouts: one RGBA PNG per mask, cut to its box, transparent
                      outside the mask, named by its label.
PATH is an image (TIFF of any dtype, PNG, JPEG, BMP, WebP) or a folder of them. A TIFF holding a
stack ((T, H, W) or (T, H, W, 3)) is segmented slice by slice into one multi-page label TIFF with
labels unique across the stack (no overlay or cut-outs). An image that cannot be read is reported
and skipped; the exit status is then 1.

Large images are segmented in overlapping tiles, each at its own resolution (the model sees an
image at 1024 pixels on its longer side, where small objects of a large image vanish), and the
tiles' masks are merged across the seams into one label per object. This happens by default for
images whose longer side exceeds 4096 pixels, with tiles of 1024; --tile SIZE asks for tiles of
SIZE pixels on any image, --tile 0 never tiles. With tiles, cut-outs are cut from the label image."""

# Longer sides (pixels) above which images are tiled unless --tile says otherwise: the model
# would see them at a quarter of their resolution or less.
AUTO_TILE_ABOVE = 4096
AUTO_TILE_SIZE = 1024


def register(subparsers) -> None:
    parser = subparsers.add_parser("automask", help="segment everything in images and folders", description=DESCRIPTION)
    parser.add_argument("paths", nargs="+", metavar="PATH", help="image files and folders of images")
    parser.add_argument("--model", required=True, metavar="NAME_OR_FILE", help="a catalog name or a checkpoint file")
    parser.add_argument("--out", required=True, type=Path, metavar="DIR", help="folder for the results (created if needed)")
    parser.add_argument("--cutouts", action="store_true", help="also write one cut-out PNG per mask")
    parser.add_argument("--points-per-side", type=int, default=32, help="grid points per image side (default 32)")
    parser.add_argument("--points-per-batch", type=int, default=64, help="prompts per decoder call (default 64)")
    parser.add_argument(
        "--pred-iou-thresh", type=float, help="keep masks with a predicted IoU above this (default 0.88 for v1, 0.8 for v2)"
    )
    parser.add_argument("--stability-score-thresh", type=float, default=0.95, help="default 0.95")
    parser.add_argument("--crop-n-layers", type=int, default=0, help="also segment 2^i x 2^i crops, i = 1..N (default 0)")
    parser.add_argument(
        "--min-mask-region-area", type=float, default=0,
        help="v1: remove holes and islands smaller than this many pixels (default 0: keep them)",
    )
    parser.add_argument(
        "--tile", type=int, metavar="SIZE",
        help=f"segment in overlapping SIZE x SIZE tiles merged at the seams; 0: never (default: tiles of "
        f"{AUTO_TILE_SIZE} for images longer than {AUTO_TILE_ABOVE} pixels on a side)",
    )
    parser.add_argument("--tile-overlap", type=int, default=256, metavar="PIXELS", help="overlap of neighbouring tiles (default 256)")
    parser.add_argument("--device", default="auto", help='"auto" (the default: CUDA, then MPS, then CPU), "cpu", "cuda"...')
    parser.set_defaults(run=run)


def run(args) -> int:
    images = list(_image_files(args.paths))
    model = load_model(resolve(args.model), device=args.device)
    parameters = dict(
        points_per_side=args.points_per_side,
        points_per_batch=args.points_per_batch,
        pred_iou_thresh=args.pred_iou_thresh,
        stability_score_thresh=args.stability_score_thresh,
        crop_n_layers=args.crop_n_layers,
        min_mask_region_area=args.min_mask_region_area,
    )
    args.out.mkdir(parents=True, exist_ok=True)
    failed = 0
    names = set()
    for path in tqdm(images, desc="images", unit="image"):
        name = _unique_name(path, names)
        try:
            summary = _segment_file(model, path, args.out, name, args, parameters)
        except SamStackError as error:
            failed += 1
            tqdm.write(f"sam-stack automask: skipped {path}: {error}", file=sys.stderr)
            continue
        tqdm.write(f"{path}: {summary}")
    if failed:
        tqdm.write(f"sam-stack automask: {failed} of {len(images)} image(s) failed", file=sys.stderr)
    return 1 if failed else 0


def _image_files(paths: list[str]):
    """Files as given (checked when read), and the image files of folders in name order."""
    for text in paths:
        path = Path(text)
        if path.is_dir():
            yield from sorted(file for file in path.iterdir() if file.is_file() and file.suffix.lower() in IMAGE_SUFFIXES)
        else:
            yield path


def _unique_name(path: Path, taken: set[str]) -> str:
    """The file's stem, numbered when another input already had it (two folders, one name)."""
    name, number = path.stem, 1
    while name in taken:
        number += 1
        name = f"{path.stem}_{number}"
    taken.add(name)
    return name


def _segment_file(model, path: Path, out: Path, name: str, args, parameters: dict) -> str:
    """Segments one file and writes its results; returns a one-line summary."""
    pixels = read_image(path)
    if pixels.ndim == 3 and pixels.shape[2] == 4:
        pixels = pixels[..., :3]  # a PNG's alpha channel is transparency, not a colour
    is_stack = pixels.ndim == 4 or (pixels.ndim == 3 and pixels.shape[2] != 3)
    labels_path = out / f"{name}_labels.tif"
    if is_stack:
        labels = generate_labels_stack(model, pixels, **parameters)
        write_labels(labels_path, labels)
        return f"{len(pixels)} slices, {int(labels.max())} masks -> {labels_path}"

    rgb_hw3 = to_uint8_rgb(pixels)
    tile_size = _tile_size(args.tile, rgb_hw3.shape[:2])
    segments = out / f"{name}_segments"
    if tile_size:
        labels_hw = generate_labels_tiled(model, pixels, tile_size, args.tile_overlap, progress=True, **parameters)
        if args.cutouts:
            _write_cutouts_of_labels(labels_hw, rgb_hw3, segments)
    else:
        records = iter_masks(model, pixels, progress=True, **parameters)
        if args.cutouts:
            records = _writing_cutouts(records, rgb_hw3, segments)
        labels_hw = masks_to_labels(records, image_hw=rgb_hw3.shape[:2])
    write_labels(labels_path, labels_hw)
    overlay_path = out / f"{name}_overlay.png"
    _write_png(overlay_path, overlay(rgb_hw3, labels_hw))
    tiled = f" (tiles of {tile_size})" if tile_size else ""
    return f"{len(np.unique(labels_hw)) - 1} masks in the label image{tiled} -> {labels_path}, {overlay_path}"


def _tile_size(asked: int | None, image_hw: tuple[int, int]) -> int:
    """The tile size to use, 0 for none: as asked, else the default for large images."""
    if asked is not None:
        if asked < 0:
            raise SamStackError(f"found --tile {asked}; expected a tile size in pixels, or 0 for no tiles")
        return asked
    return AUTO_TILE_SIZE if max(image_hw) > AUTO_TILE_ABOVE else 0


def _write_cutouts_of_labels(labels_hw: np.ndarray, rgb_hw3: np.ndarray, folder: Path) -> None:
    """One cut-out per label of a label image, named by the label, as ``_writing_cutouts`` names
    records' (here each shows the label's visible pixels)."""
    folder.mkdir(exist_ok=True)
    top, left, bottom, right = _label_boxes(labels_hw)
    for label in np.flatnonzero(bottom >= 0).tolist():
        box = slice(top[label], bottom[label] + 1), slice(left[label], right[label] + 1)
        alpha_hw = (labels_hw[box] == label).astype(np.uint8) * 255
        _write_png(folder / f"{label}.png", np.dstack([rgb_hw3[box], alpha_hw]))


def _label_boxes(labels_hw: np.ndarray, rows_per_pass: int = 512) -> tuple[np.ndarray, ...]:
    """(top, left, bottom, right) inclusive, each (max label + 1,) int64 indexed by label; bottom
    is -1 for numbers not in the image and for 0. Reads a band of rows at a time."""
    size = int(labels_hw.max()) + 1
    top = np.full(size, labels_hw.shape[0], np.int64)
    left = np.full(size, labels_hw.shape[1], np.int64)
    bottom = np.full(size, -1, np.int64)
    right = np.full(size, -1, np.int64)
    for start in range(0, labels_hw.shape[0], rows_per_pass):
        rows, cols = np.nonzero(labels_hw[start : start + rows_per_pass])
        ids = labels_hw[start + rows, cols]
        np.minimum.at(top, ids, start + rows)
        np.maximum.at(bottom, ids, start + rows)
        np.minimum.at(left, ids, cols)
        np.maximum.at(right, ids, cols)
    bottom[0] = -1
    return top, left, bottom, right


def _writing_cutouts(records, rgb_hw3: np.ndarray, folder: Path):
    """Passes the records on, writing each one's cut-out (named by its label) on the way."""
    folder.mkdir(exist_ok=True)
    for label, record in enumerate(records, start=1):
        x, y, w, h = (int(v) for v in record["bbox"])
        mask_hw = record["segmentation"][y : y + h + 1, x : x + w + 1]
        rgba = np.dstack([rgb_hw3[y : y + h + 1, x : x + w + 1], mask_hw.astype(np.uint8) * 255])
        _write_png(folder / f"{label}.png", rgba)
        yield record


def overlay(rgb_hw3: np.ndarray, labels_hw: np.ndarray, opacity: float = 0.55) -> np.ndarray:
    """(H, W, 3) uint8: the image with each label's pixels blended with its own colour."""
    colours = label_colours(int(labels_hw.max()))
    blended = rgb_hw3.astype(np.float32)
    inside = labels_hw > 0
    blended[inside] = (1 - opacity) * blended[inside] + opacity * colours[labels_hw[inside]]
    return np.round(blended).astype(np.uint8)


def label_colours(n_labels: int) -> np.ndarray:
    """(n_labels + 1, 3) bright colours, row 0 unused (background); neighbouring labels get
    far-apart hues (golden-ratio steps), so that overlapping masks stand out."""
    hues = (np.arange(n_labels + 1) * 0.618033988749895) % 1.0
    return np.array([colorsys.hsv_to_rgb(hue, 0.85, 1.0) for hue in hues], dtype=np.float32) * 255


def _write_png(path: Path, pixels: np.ndarray) -> None:
    """Writes RGB or RGBA uint8 as PNG under a temporary name, then renames it."""
    conversion = cv2.COLOR_RGB2BGR if pixels.shape[2] == 3 else cv2.COLOR_RGBA2BGRA
    ok, encoded = cv2.imencode(".png", cv2.cvtColor(pixels, conversion))
    if not ok:
        raise SamStackError(f"OpenCV could not encode {path.name} as PNG")
    temporary = path.with_name(f".{path.name}.partial")
    try:
        encoded.tofile(temporary)
        os.replace(temporary, path)
    except OSError as error:
        raise SamStackError(f"could not write {path} ({error})") from None
    finally:
        temporary.unlink(missing_ok=True)
