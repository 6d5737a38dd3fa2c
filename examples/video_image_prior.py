"""Follow an object through a stack that was only shown in another image (seed 002, "video
with image priors").

    python examples/video_image_prior.py stack.tif --model sam2.1-hiera-tiny --image cat.jpg --points 200,150 --out labels.tif

The object is segmented in IMAGE from the points; that image and mask become the object's only
memory (``tracker.add_image_prior``), and the stack is tracked from its first frame with no
prompt of its own. Which objects are picked up shows what the model finds similar. The mask in
IMAGE is written beside the labels, as OUT's name with "_prior.png".
"""

import argparse
import sys
from pathlib import Path

import numpy as np

import sam_stack
from sam_stack.io import read_image, read_stack, write_labels, write_mask


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stack", help="a multi-page TIFF or a folder of frames")
    parser.add_argument("--model", required=True, help="a SAM v2 / v2.1 catalog name or checkpoint file")
    parser.add_argument("--image", required=True, help="an image showing the object (need not be of the stack)")
    parser.add_argument("--points", nargs="+", required=True, help="X,Y on the object in IMAGE")
    parser.add_argument("--out", type=Path, required=True, help="the label stack to write, .tif")
    args = parser.parse_args(argv)

    model = sam_stack.load_model(args.model)
    image = read_image(args.image)
    prediction = model.predict(model.encode_image(image), points=[[float(v) for v in text.split(",")] for text in args.points])
    prior_mask = prediction.masks[int(np.argmax(prediction.scores))]
    write_mask(args.out.with_name(f"{args.out.stem}_prior.png"), prior_mask)

    tracker = sam_stack.StackTracker(model, read_stack(args.stack))
    tracker.add_image_prior(1, image, prior_mask)
    labels = tracker.run(direction="forward", progress=True)
    write_labels(args.out, labels)
    print(f"{args.out}: the object is found on {int(labels.any(axis=(1, 2)).sum())} of {len(labels)} frames")
    return 0


if __name__ == "__main__":
    sys.exit(main())
