"""Segment one object in one image from points and / or a box (seed 000, "image segmentation").

    python examples/segment_image.py cells.png --model sam-vit-b --points 120,80 60,40,0 --out mask.png

Points are X,Y pixels (x right, y down) with an optional third number, 1 on the object (the
default) or 0 on the background; a box is X0,Y0,X1,Y1. The mask with the best predicted IoU is
written as a 0 / 255 PNG or TIFF.
"""

import argparse
import sys

import numpy as np

import sam_stack
from sam_stack.io import read_image, write_mask


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("image", help="a grayscale or RGB image (TIFF of any dtype, PNG, JPEG)")
    parser.add_argument("--model", required=True, help="a catalog name (sam_stack.list_models()) or a checkpoint file")
    parser.add_argument("--points", nargs="*", default=[], help="X,Y or X,Y,LABEL")
    parser.add_argument("--box", help="X0,Y0,X1,Y1")
    parser.add_argument("--out", required=True, help="the mask to write, .png or .tif")
    args = parser.parse_args(argv)

    model = sam_stack.load_model(args.model)
    image = read_image(args.image)
    encoding = model.encode_image(image)  # the slow step; any number of predictions may follow

    points = [[float(value) for value in text.split(",")] for text in args.points]
    box = [float(value) for value in args.box.split(",")] if args.box else None
    prediction = model.predict(
        encoding,
        points=[point[:2] for point in points] or None,
        point_labels=[int(point[2]) if len(point) == 3 else 1 for point in points] or None,
        box=box,
    )
    best = int(np.argmax(prediction.scores))
    write_mask(args.out, prediction.masks[best])
    print(f"{args.out}: candidate {best} of {len(prediction.scores)}, predicted IoU {prediction.scores[best]:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
