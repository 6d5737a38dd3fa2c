"""`sam-stack segment IMAGE --model M --points X,Y[,LABEL]... --box X0,Y0,X1,Y1 --out MASK`."""

import argparse

import numpy as np

from .errors import PromptError
from .io import read_image, write_mask
from .models import load_model
from .models.catalog import resolve

DESCRIPTION = """\
Segments one object in one image from point and / or box prompts and writes its mask (255 on
the object, 0 elsewhere) as PNG or TIFF. Coordinates are pixels of IMAGE, x to the right and y
down from the top-left corner. With a single point and no box the model proposes three masks
(the prompt is ambiguous) and the one with the best predicted IoU is written, as the official
examples recommend; otherwise it makes one. --multimask-index picks one of the three instead."""


def register(subparsers) -> None:
    parser = subparsers.add_parser("segment", help="segment one image from points and / or a box", description=DESCRIPTION)
    parser.add_argument("image", metavar="IMAGE", help="a grayscale or RGB image: TIFF (any dtype), PNG, JPEG")
    parser.add_argument("--model", required=True, metavar="NAME_OR_FILE", help="a catalog name or a checkpoint file")
    parser.add_argument(
        "--points", nargs="+", type=parse_point, default=[], metavar="X,Y[,LABEL]",
        help="prompt points; LABEL 1 (the default) is on the object, 0 on the background",
    )
    parser.add_argument("--box", type=parse_box, metavar="X0,Y0,X1,Y1", help="a box around the object")
    parser.add_argument("--out", required=True, metavar="MASK", help="the mask file to write, .png or .tif")
    parser.add_argument(
        "--multimask-index", type=int, choices=(0, 1, 2), metavar="{0,1,2}",
        help="ask for three masks and write this one (from fine to coarse, roughly)",
    )
    parser.add_argument("--device", default="auto", help='"auto" (the default: CUDA, then MPS, then CPU), "cpu", "cuda"...')
    parser.set_defaults(run=run)


def run(args) -> int:
    if not args.points and args.box is None:
        raise PromptError("no prompt given; expected --points and / or --box")
    image = read_image(args.image)
    if image.ndim == 3 and image.shape[2] == 4:
        image = image[..., :3]  # the alpha channel of a PNG is transparency, not a colour
    model = load_model(resolve(args.model), device=args.device)
    encoding = model.encode_image(image)
    multimask = args.multimask_index is not None or (len(args.points) == 1 and args.box is None)
    points = np.array([point[:2] for point in args.points]) if args.points else None
    labels = np.array([point[2] for point in args.points]) if args.points else None
    prediction = model.predict(encoding, points=points, point_labels=labels, box=args.box, multimask=multimask)
    index = args.multimask_index if args.multimask_index is not None else int(np.argmax(prediction.scores))
    mask = prediction.masks[index]
    write_mask(args.out, mask)
    print(
        f"{args.out}: mask index {index} of {len(prediction.scores)} candidates, "
        f"predicted IoU {prediction.scores[index]:.3f}, {int(mask.sum())} of {mask.size} pixels"
    )
    return 0


def parse_point(text: str) -> tuple[float, float, int]:
    """"X,Y" or "X,Y,LABEL" -> (x, y, label)."""
    values = _numbers(text, "X,Y or X,Y,LABEL")
    if len(values) == 2:
        return values[0], values[1], 1
    if len(values) == 3 and values[2] in (0, 1):
        return values[0], values[1], int(values[2])
    raise argparse.ArgumentTypeError(f"found {text!r}; expected X,Y or X,Y,LABEL with LABEL 1 (object) or 0 (background)")


def parse_box(text: str) -> tuple[float, float, float, float]:
    """"X0,Y0,X1,Y1" -> the four numbers."""
    values = _numbers(text, "X0,Y0,X1,Y1")
    if len(values) != 4:
        raise argparse.ArgumentTypeError(f"found {text!r}; expected four numbers X0,Y0,X1,Y1")
    return tuple(values)


def _numbers(text: str, expected: str) -> list[float]:
    try:
        return [float(value) for value in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"found {text!r}; expected {expected}, numbers separated by commas") from None
