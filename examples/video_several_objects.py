"""Follow several objects through a stack at once, frame by frame (seed 000, "video
segmentation, multi-object").

    python examples/video_several_objects.py stack.tif --model sam2.1-hiera-tiny \
        --object 1,0,120,80 --object 2,0,40,60 --object 2,5,45,70 --out labels.tif

Each --object is ID,FRAME,X,Y: a point on object ID in frame FRAME (an object may get points on
several frames). ``tracker.propagate()`` yields each frame's masks as soon as they are made;
here they are gathered into a label image, and each object's area is printed as it goes. Each
frame is encoded once for all objects, and a pixel goes to one object at most.
"""

import argparse
import sys
from collections import defaultdict

import numpy as np

import sam_stack
from sam_stack.io import read_stack, write_labels


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stack", help="a multi-page TIFF or a folder of frames")
    parser.add_argument("--model", required=True, help="a SAM v2 / v2.1 catalog name or checkpoint file")
    parser.add_argument("--object", action="append", required=True, help="ID,FRAME,X,Y (repeat it)")
    parser.add_argument("--out", required=True, help="the label stack to write, .tif")
    args = parser.parse_args(argv)

    points_by_prompt = defaultdict(list)  # (frame, object id) -> points
    for text in args.object:
        object_id, frame, x, y = text.split(",")
        points_by_prompt[int(frame), int(object_id)].append([float(x), float(y)])

    tracker = sam_stack.StackTracker(sam_stack.load_model(args.model), read_stack(args.stack))
    for (frame, object_id), points in points_by_prompt.items():
        tracker.add_prompt(frame, object_id, points=points)

    labels = np.zeros((tracker.num_frames, *tracker.frame_shape), dtype=np.uint32)
    for frame, masks in tracker.propagate():
        for object_id, mask in masks.items():
            labels[frame][mask] = object_id
        print(f"frame {frame}: " + ", ".join(f"object {object_id} {int(mask.sum())} px" for object_id, mask in masks.items()))
    write_labels(args.out, labels)
    print(f"{args.out}: objects {tracker.object_ids}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
