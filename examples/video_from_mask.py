"""Follow one object through a stack from its mask on one frame (seed 000, "video segmentation
from mask").

    python examples/video_from_mask.py stack.tif --model sam2.1-hiera-tiny --frame 3 --mask cell.png --out labels.tif

MASK is an image of the frame's size, the object where it is not 0 (a mask drawn by hand, or
made by segment_image.py). The object is followed both ways from that frame, so every frame gets
a mask. For a mask of an image that is not in the stack, see video_image_prior.py.
"""

import argparse
import sys

import sam_stack
from sam_stack.io import read_image, read_stack, write_labels


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stack", help="a multi-page TIFF or a folder of frames")
    parser.add_argument("--model", required=True, help="a SAM v2 / v2.1 catalog name or checkpoint file")
    parser.add_argument("--frame", type=int, default=0, help="the frame the mask belongs to (default 0)")
    parser.add_argument("--mask", required=True, help="the object's mask on that frame")
    parser.add_argument("--out", required=True, help="the label stack to write, .tif")
    args = parser.parse_args(argv)

    tracker = sam_stack.StackTracker(sam_stack.load_model(args.model), read_stack(args.stack))
    tracker.add_prompt(args.frame, object_id=1, mask=read_image(args.mask) != 0)
    labels = tracker.run(direction="both", progress=True)
    write_labels(args.out, labels)
    areas = labels.sum(axis=(1, 2)).tolist()
    print(f"{args.out}: object area per frame, in pixels: {areas}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
