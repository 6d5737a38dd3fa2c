"""Segment several images with one call to the image encoder (seed 000, "image segmentation
with batches").

    python examples/segment_batch.py a.png b.png c.tif --model sam2.1-hiera-tiny --out masks/

Encoding a batch gives the same encodings as one image at a time, and is faster on a GPU. Each
image is prompted with one point, at its centre unless --point X,Y is given; each mask is
written as DIR/NAME_mask.png.
"""

import argparse
import sys
from pathlib import Path

import numpy as np

import sam_stack
from sam_stack.io import read_image, write_mask


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("images", nargs="+", type=Path, help="image files (any sizes)")
    parser.add_argument("--model", required=True, help="a catalog name or a checkpoint file")
    parser.add_argument("--point", help="X,Y pixels of the prompt in every image (default: each image's centre)")
    parser.add_argument("--out", required=True, type=Path, help="folder for the masks")
    args = parser.parse_args(argv)

    model = sam_stack.load_model(args.model)
    images = [read_image(path) for path in args.images]
    encodings = model.encode_images(images)

    args.out.mkdir(parents=True, exist_ok=True)
    for path, image, encoding in zip(args.images, images, encodings):
        height, width = image.shape[:2]
        point = [float(value) for value in args.point.split(",")] if args.point else [width / 2, height / 2]
        prediction = model.predict(encoding, points=[point])
        best = int(np.argmax(prediction.scores))
        write_mask(args.out / f"{path.stem}_mask.png", prediction.masks[best])
        print(f"{path.name}: predicted IoU {prediction.scores[best]:.3f}, {int(prediction.masks[best].sum())} pixels")
    return 0


if __name__ == "__main__":
    sys.exit(main())
