"""`sam-stack propagate STACK --model M --prompts PROMPTS.json --out LABELS [--reverse|--both] [--samurai]`."""

import argparse
import os
import shutil
from pathlib import Path

import numpy as np

from .errors import ImageError, PromptError
from .io import PNG_MAX_LABEL, TIFF_SUFFIXES, read_stack, write_labels
from .models import load_model
from .models.catalog import resolve
from .prompt_file import read_prompt_file
from .tasks.embedding_cache import EmbeddingCache
from .tasks.stack_tracking import StackTracker

DESCRIPTION = """\
Follows objects through a stack with SAM v2's memory (a SAM v2 or v2.1 model) and writes their
label image: 0 on the background, each object's id on its pixels.

STACK is a multi-page TIFF ((T, H, W) or (T, H, W, 3), any dtype), a folder of frame files
(TIFF, PNG, JPEG...) taken in natural order (frame2 before frame10), a .npy file or a .zarr
array; frames are read one at a time. PROMPTS.json places each object on one or more frames,
with points, a box or a mask:

  {"objects": [
    {"id": 1, "frame": 0, "points": [[120, 80], [60, 40]], "labels": [1, 0]},
    {"id": 1, "frame": 9, "box": [100, 60, 150, 110]},
    {"id": 2, "frame": 4, "mask": "cell2_frame4.png"}]}

Points and boxes are pixels of the frame (x right, y down); labels are 1 on the object and 0 on
the background (all 1 when left out); a mask is an image of the frame's size, the object where
it is not 0, its path relative to PROMPTS.json.

Direction: forward from the earliest prompted frame to the last frame (the default), --reverse
from the latest prompted frame back to the first, or --both (every frame). Frames a direction
does not reach are 0. --samurai chooses masks with SAMURAI's motion model (a Kalman filter on the
object's box), which helps with fast or similar-looking objects.

LABELS ending in .tif or .tiff is written as one uint32 multi-page TIFF; a path without a suffix
is a folder (created if needed) of 16-bit PNGs frame_00000.png, frame_00001.png, ... (ids up to
65535). Nothing is written unless every frame is done."""

DIRECTIONS = {"forward": "forward", "reverse": "backward", "both": "both"}


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "propagate", help="follow objects through a stack from prompts on a few frames", description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("stack", metavar="STACK", help="a multi-page TIFF, a folder of frames, a .npy or a .zarr array")
    parser.add_argument("--model", required=True, metavar="NAME_OR_FILE", help="a SAM v2 / v2.1 catalog name or checkpoint file")
    parser.add_argument("--prompts", required=True, type=Path, metavar="PROMPTS.json", help="the objects' prompts (format above)")
    parser.add_argument("--out", required=True, type=Path, metavar="LABELS", help="a .tif file, or a folder for one PNG per frame")
    direction = parser.add_mutually_exclusive_group()
    direction.add_argument(
        "--reverse", dest="direction", action="store_const", const="reverse", help="from the latest prompted frame back to the first"
    )
    direction.add_argument("--both", dest="direction", action="store_const", const="both", help="forward, then backward")
    parser.add_argument("--samurai", action="store_true", help="choose masks with SAMURAI's motion model")
    parser.add_argument(
        "--cache", type=Path, metavar="DIR", help="a folder of encodings (see `sam-stack embed`): frames found there are not encoded again"
    )
    parser.add_argument(
        "--bfloat16", action="store_true",
        help="run the image encoder and the memory attention in bfloat16: about twice as fast on CPUs with BF16 "
        "units, masks slightly different (see the README)",
    )
    parser.add_argument("--device", default="auto", help='"auto" (the default: CUDA, then MPS, then CPU), "cpu", "cuda"...')
    parser.set_defaults(run=run, direction="forward")


def run(args) -> int:
    as_folder = _output_is_folder(args.out)
    prompts = read_prompt_file(args.prompts)
    if as_folder and max(prompt.object_id for prompt in prompts) > PNG_MAX_LABEL:
        raise PromptError(
            f"found object id {max(prompt.object_id for prompt in prompts)} in {args.prompts}; PNG frames hold ids up "
            f"to {PNG_MAX_LABEL}: use smaller ids or write a .tif file"
        )
    frames = read_stack(args.stack)
    model = load_model(resolve(args.model), device=args.device)
    model.use_bfloat16 = args.bfloat16
    cache = None if args.cache is None else EmbeddingCache(directory=args.cache)
    tracker = StackTracker(model, frames, samurai=args.samurai, embedding_cache=cache)
    for prompt in prompts:
        try:
            tracker.add_prompt(
                prompt.frame, prompt.object_id, points=prompt.points, point_labels=prompt.labels, box=prompt.box, mask=prompt.mask
            )
        except PromptError as error:
            raise PromptError(f"{prompt.where}: {error}") from None
    labels_thw = tracker.run(DIRECTIONS[args.direction], progress=True)
    if as_folder:
        _write_frames(args.out, labels_thw)
    else:
        write_labels(args.out, labels_thw)
    print(f"{args.out}: {labels_thw.shape[0]} frames of {labels_thw.shape[2]} x {labels_thw.shape[1]}; {_coverage(labels_thw, tracker.object_ids)}")
    return 0


def _output_is_folder(out: Path) -> bool:
    """A .tif / .tiff path is a file; a path without a suffix (or an existing folder) a folder."""
    if out.is_dir() or not out.suffix:
        return True
    if out.suffix.lower() in TIFF_SUFFIXES:
        if not out.parent.is_dir():
            raise ImageError(f"cannot write {out}: no folder {out.parent}")
        return False
    raise ImageError(f"found --out {out}; expected a .tif / .tiff file or a folder (a path without a suffix)")


def _write_frames(folder: Path, labels_thw: np.ndarray) -> None:
    """One PNG per frame, written into a hidden folder beside ``folder`` and moved in when all are done."""
    partial = folder.with_name(f".{folder.name}.partial")
    partial.mkdir(parents=True, exist_ok=True)
    try:
        names = [f"frame_{t:05d}.png" for t in range(len(labels_thw))]
        for name, labels_hw in zip(names, labels_thw, strict=True):
            write_labels(partial / name, labels_hw)
        folder.mkdir(exist_ok=True)
        for name in names:
            os.replace(partial / name, folder / name)
    finally:
        shutil.rmtree(partial, ignore_errors=True)


def _coverage(labels_thw: np.ndarray, object_ids: list[int]) -> str:
    """"object 1 on 8 frames, object 2 on 7 frames": how far each object was followed."""
    frames_with = {object_id: int((labels_thw == object_id).any(axis=(1, 2)).sum()) for object_id in object_ids}
    return ", ".join(f"object {object_id} on {count} frames" for object_id, count in frames_with.items())
