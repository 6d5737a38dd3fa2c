"""Follow one object with SAMURAI's motion-aware mask selection (seed 000, "video segmentation
using SAMURAI").

    python examples/video_samurai.py stack.tif --model sam2.1-hiera-tiny --frame 0 --box 100,60,150,110 --out labels.tif

SAMURAI (Yang et al. 2024) follows the object's box with a Kalman filter and, on each frame,
picks the candidate mask that agrees with the predicted box and the model's IoU, and remembers
only confident frames. It helps with fast motion and look-alike objects. The box of the object
on each frame is printed (x0, y0, x1, y1; "-" where it is lost).
"""

import argparse
import sys

import numpy as np

import sam_stack
from sam_stack.io import read_stack, write_labels


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stack", help="a multi-page TIFF or a folder of frames")
    parser.add_argument("--model", required=True, help="a SAM v2 / v2.1 catalog name or checkpoint file")
    parser.add_argument("--frame", type=int, default=0, help="the frame the box is on (default 0)")
    parser.add_argument("--box", required=True, help="X0,Y0,X1,Y1 around the object on that frame")
    parser.add_argument("--out", required=True, help="the label stack to write, .tif")
    args = parser.parse_args(argv)

    tracker = sam_stack.StackTracker(sam_stack.load_model(args.model), read_stack(args.stack), samurai=True)
    tracker.add_prompt(args.frame, object_id=1, box=[float(value) for value in args.box.split(",")])
    labels = tracker.run(direction="forward", progress=True)
    write_labels(args.out, labels)
    for frame, labels_hw in enumerate(labels):
        rows, columns = np.nonzero(labels_hw)
        box = f"{columns.min()}, {rows.min()}, {columns.max() + 1}, {rows.max() + 1}" if rows.size else "-"
        print(f"frame {frame}: {box}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
