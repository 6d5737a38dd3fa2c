"""Follow one object through a stack from points on one frame (seed 000, "video segmentation").

    python examples/video_from_points.py stack.tif --model sam2.1-hiera-tiny --frame 0 --points 120,80 --out labels.tif

STACK is a multi-page TIFF or a folder of frames; frames are read one at a time. Points are X,Y
pixels of that frame, with an optional third number, 1 on the object (the default) or 0 on the
background. The object is followed from that frame to the last one; the label image (object = 1)
is written as a uint32 TIFF.
"""

import argparse
import sys

import sam_stack
from sam_stack.io import read_stack, write_labels


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stack", help="a multi-page TIFF or a folder of frames")
    parser.add_argument("--model", required=True, help="a SAM v2 / v2.1 catalog name or checkpoint file")
    parser.add_argument("--frame", type=int, default=0, help="the frame the points are on (default 0)")
    parser.add_argument("--points", nargs="+", required=True, help="X,Y or X,Y,LABEL")
    parser.add_argument("--out", required=True, help="the label stack to write, .tif")
    args = parser.parse_args(argv)

    points = [[float(value) for value in text.split(",")] for text in args.points]
    tracker = sam_stack.StackTracker(sam_stack.load_model(args.model), read_stack(args.stack))
    tracker.add_prompt(
        args.frame, object_id=1, points=[point[:2] for point in points], point_labels=[int(p[2]) if len(p) == 3 else 1 for p in points]
    )
    labels = tracker.run(direction="forward", progress=True)
    write_labels(args.out, labels)
    print(f"{args.out}: the object is on {int(labels.any(axis=(1, 2)).sum())} of {len(labels)} frames")
    return 0


if __name__ == "__main__":
    sys.exit(main())
