"""Segment everything in an image (seed 000, "auto mask generator").

    python examples/automatic_masks.py photo.jpg --model sam2.1-hiera-tiny --out labels.tif

A grid of single-point prompts covers the image; masks with a low predicted IoU or an unstable
outline are dropped and duplicates removed, as the official generators do. The masks become one
label image (uint32, 0 = background, smaller masks on top of larger ones).
"""

import argparse
import sys

import sam_stack
from sam_stack.io import read_image, write_labels


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("image", help="a grayscale or RGB image")
    parser.add_argument("--model", required=True, help="a catalog name or a checkpoint file")
    parser.add_argument("--points-per-side", type=int, default=32, help="grid points along each side (default 32)")
    parser.add_argument("--pred-iou-thresh", type=float, help="keep masks whose predicted IoU is above this (default: v1 0.88, v2 0.8)")
    parser.add_argument("--stability-score-thresh", type=float, default=0.95, help="keep masks at least this stable (default 0.95)")
    parser.add_argument("--out", required=True, help="the label image to write, .tif (or .png)")
    args = parser.parse_args(argv)

    model = sam_stack.load_model(args.model)
    image = read_image(args.image)
    records = sam_stack.generate_masks(
        model,
        image,
        points_per_side=args.points_per_side,
        pred_iou_thresh=args.pred_iou_thresh,
        stability_score_thresh=args.stability_score_thresh,
    )
    write_labels(args.out, sam_stack.masks_to_labels(records, image_hw=image.shape[:2]))
    print(f"{args.out}: {len(records)} masks")
    for record in sorted(records, key=lambda record: -record["area"])[:5]:
        print(f"  area {record['area']} px, box (x, y, w, h) {record['bbox']}, predicted IoU {record['predicted_iou']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
