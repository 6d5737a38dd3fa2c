"""Segment everything on a very large image, tile by tile: time and peak memory.

The official generators have no tiling: on a whole 10000 x 10000 image the official one would hold
one batch of upscaled logits, 64 x 3 x H x W float32 (77 GB), and see objects at a tenth of their
size. So the side-by-side comparison is per tile: the official generator and ours on one tile
(1024 x 1024, same weights, grid and filters), then ours over the whole image, tiled, with its
peak resident memory (``ru_maxrss``). Each run is a fresh process, so each peak is its own.

The model is the test suite's small random-weight SAM v1 (2-block ViT, tweaked so that masks
follow the image), the image discs of many sizes on a dark background, read from a memory-mapped
.npy file one tile at a time; the filters are the test suite's permissive ones, so that many masks
reach the merge.

    python benchmarks/large_image.py                                  # 10000 x 10000, 8 x 8 grid
    python benchmarks/large_image.py --image 4000x3000 --points-per-side 16
"""

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "tests" / "reference_standins"))

from activate import activate  # noqa: E402

activate()

import sam_stack  # noqa: E402
from automask_inputs import random_discs, v1_weights_that_show_the_image  # noqa: E402
from official_v1 import SMALL_VIT, build_official_sam, save_official_checkpoint  # noqa: E402
from sam_stack.tasks.automask.tile_grid import tile_grid  # noqa: E402

PERMISSIVE = dict(pred_iou_thresh=0.0, stability_score_thresh=0.2, stability_score_offset=0.002)


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def run(job: str, checkpoint: Path, image_file: Path, parameters: dict, tile: int, overlap: int) -> dict:
    """One measured run in this process: "official-tile" or "ours-tile" on the first tile, or
    "ours-tiled" over the whole image."""
    image = np.load(image_file, mmap_mode="r")
    if job == "official-tile":
        from segment_anything import SamAutomaticMaskGenerator
        from segment_anything.build_sam import _build_sam

        sam = _build_sam(**SMALL_VIT)
        sam.load_state_dict(torch.load(checkpoint, weights_only=True))
        generator = SamAutomaticMaskGenerator(sam.eval(), **parameters)
        work = lambda: len(generator.generate(np.ascontiguousarray(image[:tile, :tile])))  # noqa: E731
    else:
        model = sam_stack.load_model(checkpoint, device="cpu")
        if job == "ours-tile":
            work = lambda: len(sam_stack.generate_masks(model, np.ascontiguousarray(image[:tile, :tile]), **parameters))  # noqa: E731
        else:
            work = lambda: sam_stack.generate_labels_tiled(model, image, tile_size=tile, overlap=overlap, progress=True, **parameters)  # noqa: E731
    before = peak_rss_mib()
    start = time.perf_counter()
    with torch.inference_mode():
        result = work()
    seconds, peak = time.perf_counter() - start, peak_rss_mib()
    # Counted after the peak is read: counting labels sorts a copy of the label image.
    masks = result if isinstance(result, int) else len(np.unique(result)) - 1
    return {"seconds": seconds, "rss_before_mib": before, "rss_peak_mib": peak, "masks": masks}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--image", default="10000x10000", help="HxW of the test image")
    parser.add_argument("--points-per-side", type=int, default=8)
    parser.add_argument("--tile", type=int, default=1024)
    parser.add_argument("--overlap", type=int, default=256)
    parser.add_argument("--job", help=argparse.SUPPRESS)
    parser.add_argument("--files", nargs=3, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    parameters = dict(points_per_side=args.points_per_side, **PERMISSIVE)
    if args.job:
        checkpoint, image_file, result_file = args.files
        result_file.write_text(json.dumps(run(args.job, checkpoint, image_file, parameters, args.tile, args.overlap)))
        return
    height, width = (int(v) for v in args.image.split("x"))

    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        official = build_official_sam(SMALL_VIT, seed=0)
        v1_weights_that_show_the_image(official)
        checkpoint = folder / "sam.pth"
        save_official_checkpoint(official, checkpoint)
        del official
        image_file = folder / "image.npy"
        np.lib.format.open_memmap(image_file, mode="w+", dtype=np.uint8, shape=(height, width, 3))[:] = random_discs(
            height, width, seed=0, count=max(60, height * width // 200_000)
        )
        tiles = len(tile_grid((height, width), args.tile, args.overlap))
        print(f"SAM v1 small (random weights), {height}x{width} image, {args.points_per_side}x{args.points_per_side} grid "
              f"per tile, tiles of {args.tile} overlapping by {args.overlap} ({tiles} tiles), filters {PERMISSIVE}, "
              f"CPU threads: {torch.get_num_threads()}, torch {torch.__version__}")
        results = {}
        for job in ("official-tile", "ours-tile", "ours-tiled"):
            result_file = folder / f"{job}.json"
            subprocess.run(
                [sys.executable, __file__, "--job", job, "--image", args.image, "--points-per-side", str(args.points_per_side),
                 "--tile", str(args.tile), "--overlap", str(args.overlap), "--files", str(checkpoint), str(image_file), str(result_file)],
                check=True,
            )
            results[job] = json.loads(result_file.read_text())

    print(f"one tile ({args.tile}x{args.tile}):")
    print(f"  {'':<26}{'official':>12}{'ours':>12}{'ours/official':>16}")
    for name, key in (("time (s)", "seconds"), ("peak RSS before (MiB)", "rss_before_mib"), ("peak RSS during (MiB)", "rss_peak_mib"), ("masks", "masks")):
        theirs, ours = results["official-tile"][key], results["ours-tile"][key]
        print(f"  {name:<26}{theirs:12.1f}{ours:12.1f}{ours / theirs if theirs else float('nan'):16.2f}")
    tiled = results["ours-tiled"]
    print(f"whole image, tiled (ours; the official generator has no tiling, and untiled would need "
          f"{64 * 3 * height * width * 4 / 2**30:.0f} GiB for one batch of logits):")
    print(f"  time {tiled['seconds']:.1f} s ({tiled['seconds'] / tiles:.2f} s per tile), peak RSS before "
          f"{tiled['rss_before_mib']:.0f} MiB, during {tiled['rss_peak_mib']:.0f} MiB "
          f"(label image alone: {height * width * 4 / 2**20:.0f} MiB), {tiled['masks']} labels")


if __name__ == "__main__":
    main()
